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
	limit    int
	maxBytes int
	rooms    map[string]*kept
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
	return &Memory{limit: max(limit, 0), maxBytes: maxBytes, rooms: make(map[string]*kept), nextID: 1}
}

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
	m.add(msg)
	return nil
}

// add appends msg to its room and drops the oldest messages over the
// limits. Dropped slots are cleared, so the messages can be freed at once.
func (m *Memory) add(msg *chatpb.ChatMessage) {
	if id := msg.GetId(); id >= m.nextID {
		m.nextID = id + 1
	}
	if m.limit == 0 {
		return
	}
	room := msg.GetRoom()
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
