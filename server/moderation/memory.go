package moderation

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store and Outbox kept in memory only, for a server whose
// history is in memory too: everything is gone when it stops.
type Memory struct {
	mu           sync.Mutex
	lastID       uint64
	restrictions map[key]Restriction
	owners       map[string][]string // room -> sorted owners
	topics       map[string]string
	outbox       []Action
}

// key names a restriction: one of each kind per user per room.
type key struct {
	kind       Kind
	room, user string
}

var (
	_ Store  = (*Memory)(nil)
	_ Outbox = (*Memory)(nil)
)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{
		restrictions: make(map[key]Restriction),
		owners:       make(map[string][]string),
		topics:       make(map[string]string),
	}
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, a Action) (Action, bool, error) {
	if err := check(a); err != nil {
		return a, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch a.Kind {
	case Mute, Ban:
		m.restrictions[key{a.Kind, a.Room, a.Target}] = Restriction{
			Kind: a.Kind, Room: a.Room, User: a.Target, By: a.Actor, Reason: a.Reason, Since: a.At, Until: a.Until,
		}
	case Unmute, Unban:
		k := key{lifted(a.Kind), a.Room, a.Target}
		r, ok := m.restrictions[k]
		if !ok || !r.InForce(a.At) {
			return a, false, nil
		}
		delete(m.restrictions, k)
	case Op:
		if !m.addOwner(a.Room, a.Target) {
			return a, false, nil
		}
	case Topic:
		m.topics[a.Room] = a.Reason
	}
	m.lastID++
	a.ID = m.lastID
	m.outbox = append(m.outbox, a)
	return a, true, nil
}

// addOwner adds user to room's owners and reports whether it was new.
func (m *Memory) addOwner(room, user string) bool {
	owners := m.owners[room]
	i, found := slices.BinarySearch(owners, user)
	if found {
		return false
	}
	m.owners[room] = slices.Insert(owners, i, user)
	return true
}

// Restriction implements Store.
func (m *Memory) Restriction(_ context.Context, k Kind, room, user string, now time.Time) (Restriction, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.restrictions[key{k, room, user}]
	if !ok || !r.InForce(now) {
		return Restriction{}, false, nil
	}
	return r, true, nil
}

// Bans implements Store.
func (m *Memory) Bans(_ context.Context, room string, now time.Time) ([]Restriction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var bans []Restriction
	for k, r := range m.restrictions {
		if k.kind == Ban && k.room == room && r.InForce(now) {
			bans = append(bans, r)
		}
	}
	slices.SortFunc(bans, func(a, b Restriction) int { return strings.Compare(a.User, b.User) })
	return bans, nil
}

// Owners implements Store.
func (m *Memory) Owners(_ context.Context, room string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.owners[room]), nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, room, user string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.owners[room]) > 0 {
		return false, nil
	}
	m.owners[room] = []string{user}
	return true, nil
}

// Topic implements Store.
func (m *Memory) Topic(_ context.Context, room string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.topics[room], nil
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

// lifted is the restriction an Unmute or Unban lifts.
func lifted(k Kind) Kind {
	if k == Unmute {
		return Mute
	}
	return Ban
}
