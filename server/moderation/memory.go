package moderation

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a Store and Outbox kept in memory only, for tests and for a
// chat server built without a shared store: everything is gone when it
// stops.
type Memory struct {
	mu     sync.Mutex
	lastID uint64
	st     *state
	outbox []Action
}

var (
	_ Store  = (*Memory)(nil)
	_ Outbox = (*Memory)(nil)
)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{st: newState()}
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, a Action) (Action, bool, error) {
	if err := check(a); err != nil {
		return a, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.st.changes(a) {
		return a, false, nil
	}
	m.st.apply(a)
	m.lastID++
	a.ID = m.lastID
	m.outbox = append(m.outbox, a)
	return a, true, nil
}

// Restriction implements Store.
func (m *Memory) Restriction(_ context.Context, k Kind, room, user string, now time.Time) (Restriction, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.st.restriction(k, room, user, now)
	return r, ok, nil
}

// Bans implements Store.
func (m *Memory) Bans(_ context.Context, room string, now time.Time) ([]Restriction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.bans(room, now), nil
}

// Owners implements Store.
func (m *Memory) Owners(_ context.Context, room string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.st.owners[room]), nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, room, user string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.st.owners[room]) > 0 {
		return false, nil
	}
	return m.st.addOwner(room, user), nil
}

// Topic implements Store.
func (m *Memory) Topic(_ context.Context, room string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.topics[room], nil
}

// Pending implements Outbox.
func (m *Memory) Pending(_ context.Context, limit int) ([]Action, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.outbox[:min(limit, len(m.outbox))]), nil
}

// Delivered implements Outbox.
func (m *Memory) Delivered(_ context.Context, id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outbox = slices.DeleteFunc(m.outbox, func(a Action) bool { return a.ID == id })
	return nil
}
