package history

import (
	"errors"
	"sync"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// ErrClosed is returned by a Store used after Close.
var ErrClosed = errors.New("history: store is closed")

// Memory is a Store that keeps history in memory only: it is lost when the
// process exits.
type Memory struct {
	mu     sync.Mutex
	limit  int
	rooms  map[string][]*chatpb.ChatMessage
	nextID uint64
	closed bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an in-memory Store keeping the last limit messages per
// room. A limit of zero keeps nothing.
func NewMemory(limit int) *Memory {
	return &Memory{limit: max(limit, 0), rooms: make(map[string][]*chatpb.ChatMessage), nextID: 1}
}

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

// add appends msg to its room and trims the room. The slice is allowed to grow
// to twice the limit before it is compacted, so trimming costs O(1) amortised.
func (m *Memory) add(msg *chatpb.ChatMessage) {
	if m.limit == 0 {
		return
	}
	room := msg.GetRoom()
	msgs := append(m.rooms[room], msg)
	if len(msgs) > 2*m.limit {
		msgs = append([]*chatpb.ChatMessage(nil), msgs[len(msgs)-m.limit:]...)
	}
	m.rooms[room] = msgs
	if id := msg.GetId(); id >= m.nextID {
		m.nextID = id + 1
	}
}

// Recent implements Store.
func (m *Memory) Recent(room string) []*chatpb.ChatMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs := m.rooms[room]
	if len(msgs) > m.limit {
		msgs = msgs[len(msgs)-m.limit:]
	}
	return append([]*chatpb.ChatMessage(nil), msgs...)
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
