// Package history keeps the recent text messages of each chat room so that a
// joining member can be shown what it missed, and hands out message ids that
// keep increasing across server restarts.
package history

import (
	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// Store keeps the last N text messages of every room.
//
// Implementations are safe for concurrent use. Messages passed to Append and
// returned by Recent are shared, so callers must treat them as read-only.
type Store interface {
	// Append records a text message under msg.GetRoom(). Only the newest N
	// messages of each room are kept.
	Append(msg *chatpb.ChatMessage) error
	// Recent returns the kept messages of room, oldest first. It never blocks
	// on disk: implementations serve it from memory.
	Recent(room string) []*chatpb.ChatMessage
	// ReserveIDs reserves n consecutive message ids and returns the first.
	// Ids reserved once are never handed out again by the same store, even
	// after a restart of a persistent store.
	ReserveIDs(n uint64) (first uint64, err error)
	// Close flushes pending writes and releases the store.
	Close() error
}
