// Package history keeps the recent messages (text and actions) of each chat
// room so that a joining member can be shown what it missed, numbers them
// per room, hands out message ids that keep increasing across server
// restarts, and keeps the sessions of members that may resume after a
// dropped connection.
package history

import (
	"crypto/rand"
	"encoding/hex"
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
// Every store has an epoch, a random name of its incarnation: ids and seqs
// are only comparable within one epoch. A persistent store keeps its epoch
// across restarts; a memory store gets a new one each time it is created.
//
// Implementations are safe for concurrent use. Messages passed to Append and
// returned by Recent are shared, so callers must treat them as read-only.
type Store interface {
	// Epoch returns the store's epoch.
	Epoch() string
	// Append records a text message or an action under msg.GetRoom(),
	// which should be loaded, and sets msg.Seq to the room's next seq (1,
	// 2, 3 ... never reused, even after the room's history is deleted).
	// Only the newest messages of each room are kept.
	Append(msg *chatpb.ChatMessage) error
	// AfterCommit arranges for fn to be called, on a goroutine of the
	// store's (functions of different commits may run concurrently), once everything appended and saved so far is committed to
	// disk (or has failed to be: the failure is logged). It returns false,
	// and never calls fn, when there is nothing to wait for: a memory store,
	// or a closed one.
	AfterCommit(fn func()) bool
	// LastSeq returns the seq of the newest message ever appended to a
	// loaded room (0 for none).
	LastSeq(room string) uint64
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
	// should not be loaded. Its seqs are not reused.
	Delete(room string) error
	// ReserveIDs reserves n consecutive message ids and returns the first.
	// Ids reserved once are never handed out again by the same store, even
	// after a restart of a persistent store.
	ReserveIDs(n uint64) (first uint64, err error)
	// SaveSession records sess, replacing the session with the same ID.
	SaveSession(sess Session) error
	// DeleteSession forgets the session with id.
	DeleteSession(id string) error
	// Sessions returns the sessions saved and not deleted: those of a
	// previous run, for a persistent store.
	Sessions() ([]Session, error)
	// Close flushes pending writes and releases the store.
	Close() error
}

// Session is a member that may resume after its stream drops: the chat
// server saves it so that a member keeps its name across a server restart.
type Session struct {
	// ID identifies the session: a hash of its resume token, never the
	// token itself, so that the stored sessions give nobody a credential.
	ID string
	// Room is the room the member is in, Name its name there, and Named
	// whether it chose that name (a "Client(N)" may still rename itself).
	Room  string
	Name  string
	Named bool
	// User is the signed-in user, or "" without sign-in.
	User string
	// DroppedAt is when the member's stream ended without a leave; zero
	// while it is connected.
	DroppedAt time.Time
}

// newEpoch returns a random epoch: 16 hex digits.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
