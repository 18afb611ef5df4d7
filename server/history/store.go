// Package history keeps the recent text messages of each chat room so that a
// joining member can be shown what it missed, and hands out message ids that
// keep increasing across server restarts.
package history

import (
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// Store keeps the last N text messages of every room (and, within those, at
// most a number of bytes).
//
// A room's history is read through Load, Recent and Unload: Load brings it
// into memory (from disk, for a persistent store), Recent serves it from
// memory, and Unload lets the store drop it from memory once it is safely
// written. The chat server loads a room while it has members, so an idle
// room costs no memory.
//
// Implementations are safe for concurrent use. Messages passed to Append and
// returned by Recent are shared, so callers must treat them as read-only.
type Store interface {
	// Append records a text message under msg.GetRoom(), which should be
	// loaded. Only the newest messages of each room are kept.
	Append(msg *chatpb.ChatMessage) error
	// Load makes room's history available to Recent, reading it from disk
	// when it is not in memory. Loads nest: each is matched by one Unload.
	Load(room string) error
	// Recent returns the kept messages of a loaded room, oldest first, from
	// memory; it never blocks on disk.
	Recent(room string) []*chatpb.ChatMessage
	// Unload undoes one Load. Once no Load is left, the store may drop the
	// room's history from memory; it stays on disk.
	Unload(room string)
	// Rooms returns every room with kept history and the time of its newest
	// message.
	Rooms() (map[string]time.Time, error)
	// Delete deletes room's history, e.g. when the room expires. The room
	// should not be loaded.
	Delete(room string) error
	// ReserveIDs reserves n consecutive message ids and returns the first.
	// Ids reserved once are never handed out again by the same store, even
	// after a restart of a persistent store.
	ReserveIDs(n uint64) (first uint64, err error)
	// Close flushes pending writes and releases the store.
	Close() error
}
