package history

import (
	"errors"
	"sync"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("history: store is closed")

// Memory is a Store that keeps history in memory only: it is lost when the
// process exits. Load and Unload do nothing: every room's history stays in
// memory until Delete, so bound it by the number of rooms (the chat server's
// -max-rooms) times maxBytes.
type Memory struct {
	mu       sync.Mutex
	epoch    string
	limit    int
	maxBytes int
	rooms    map[string]*kept
	seqs     map[string]uint64 // last seq of every room ever appended to
	sessions map[string]Session
	nextID   uint64
	closed   bool
}

// kept is one room's history.
type kept struct {
	msgs  []*chatpb.ChatMessage // oldest first
	bytes int                   // size of msgs, as counted by size
}

var _ Store = (*Memory)(nil)

// NewMemory returns an in-memory Store keeping the last limit messages per
// room, and of those only as many as fit in maxBytes (no byte limit when
// maxBytes is 0 or less). A limit of zero keeps nothing.
func NewMemory(limit, maxBytes int) *Memory {
	return &Memory{
		epoch: newEpoch(), limit: max(limit, 0), maxBytes: maxBytes,
		rooms: make(map[string]*kept), seqs: make(map[string]uint64), sessions: make(map[string]Session),
		nextID: 1,
	}
}

// Epoch implements Store: a new one for every Memory.
func (m *Memory) Epoch() string { return m.epoch }

// size is what a message counts against the byte limit: its text and its
// author's name.
func size(msg *chatpb.ChatMessage) int { return len(msg.GetMessage()) + len(msg.GetUser()) }

// Append implements Store.
func (m *Memory) Append(msg *chatpb.ChatMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	msg.Seq = m.seqs[msg.GetRoom()] + 1
	m.add(msg)
	return nil
}

// AfterCommit implements Store: memory has nothing to wait for.
func (m *Memory) AfterCommit(func()) bool { return false }

// LastSeq implements Store.
func (m *Memory) LastSeq(room string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seqs[room]
}

// setLastSeq raises room's last seq to at least seq.
func (m *Memory) setLastSeq(room string, seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seqs[room] = max(m.seqs[room], seq)
}

// add appends msg to its room and drops the oldest messages over the
// limits. Dropped slots are cleared, so the messages can be freed at once.
func (m *Memory) add(msg *chatpb.ChatMessage) {
	if id := msg.GetId(); id >= m.nextID {
		m.nextID = id + 1
	}
	room := msg.GetRoom()
	m.seqs[room] = max(m.seqs[room], msg.GetSeq())
	if m.limit == 0 {
		return
	}
	k := m.rooms[room]
	if k == nil {
		k = &kept{}
		m.rooms[room] = k
	}
	k.msgs = append(k.msgs, msg)
	k.bytes += size(msg)
	for len(k.msgs) > 0 && (len(k.msgs) > m.limit || (m.maxBytes > 0 && k.bytes > m.maxBytes)) {
		k.bytes -= size(k.msgs[0])
		k.msgs[0] = nil
		k.msgs = k.msgs[1:]
	}
	if len(k.msgs) == 0 {
		delete(m.rooms, room)
	}
}

// Load implements Store; the memory store has every room loaded.
func (m *Memory) Load(string) error { return nil }

// Unload implements Store; the memory store keeps the room.
func (m *Memory) Unload(string) {}

// Recent implements Store.
func (m *Memory) Recent(room string) []*chatpb.ChatMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k := m.rooms[room]; k != nil {
		return append([]*chatpb.ChatMessage(nil), k.msgs...)
	}
	return nil
}

// Rooms implements Store.
func (m *Memory) Rooms() (map[string]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]time.Time, len(m.rooms))
	for room, k := range m.rooms {
		out[room] = k.msgs[len(k.msgs)-1].GetSentAt().AsTime()
	}
	return out, nil
}

// Delete implements Store.
func (m *Memory) Delete(room string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.rooms, room)
	return nil
}

// drop forgets room's messages.
func (m *Memory) drop(room string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rooms, room)
}

// ReserveIDs implements Store.
func (m *Memory) ReserveIDs(n uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	first := m.nextID
	m.nextID += n
	return first, nil
}

// SaveSession implements Store.
func (m *Memory) SaveSession(sess Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.sessions[sess.ID] = sess
	return nil
}

// DeleteSession implements Store.
func (m *Memory) DeleteSession(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.sessions, id)
	return nil
}

// Sessions implements Store.
func (m *Memory) Sessions() ([]Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Session, 0, len(m.sessions))
	for _, sess := range m.sessions {
		out = append(out, sess)
	}
	return out, nil
}

// peekNextID returns one more than the highest id seen or reserved.
func (m *Memory) peekNextID() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nextID
}

// Close implements Store.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
