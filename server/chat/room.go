package chat

import (
	"fmt"
	"sync"
	"sync/atomic"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/names"
)

// room is a set of members that see each other's messages.
type room struct {
	name string

	// mu is held while a message is given an id and handed to the broker,
	// while one that came back is queued to every member, and while a
	// member joins, so that history and live traffic neither overlap nor
	// leave a gap. Queuing never blocks and sends happen on each member's
	// writer; texts and notices go to the broker on its publishing
	// goroutine, and a member's name and session are claimed before its
	// join takes mu, and renamed, saved and freed on the room's broker
	// work after mu is released (offLockLocked). Work under mu still waits
	// on the broker, holding up this room alone, to read the history when
	// the room opens here (its first member is shown it before anything
	// live), to read the room's last seq for a member resuming from
	// further than this node relayed, and to take an id when ids run out
	// before the next block is reserved (ids.go). The service-wide lock
	// is never held across a broker call.
	mu      sync.Mutex
	members []*member
	names   map[string]*member // by the skeleton of the name, members and dropped ones
	closed  bool               // the shutdown notice was sent

	creator string // IP address that created the room ("" if unknown)
	notices noticeLimit
	// pace slows the room's senders when its members fall behind
	// together (pace.go). Not guarded by mu.
	pace pacer

	// held are the messages not yet delivered because a text of this
	// node's at their head has not come back from the broker, stored:
	// nobody sees a message the broker could still lose, and everyone sees
	// the room's texts in the broker's one order. Oldest first.
	held []*heldMsg
	// visibleSeq is the seq of the newest text delivered (or, for history
	// from before the room opened here, stored): a joining member is shown
	// history up to it, and anything later live.
	visibleSeq uint64
	// link is the room in the broker while the room is open here; hist is
	// its history as the broker delivered it.
	link *broker.Room
	hist recentTexts

	// reserved counts dropped members whose names stay reserved for their
	// grace period; the room stays open while any is.
	reserved int

	// work is broker work queued under mu to run after it is released, in
	// order, on one goroutine while working: nothing slow runs under the
	// room lock that does not have to, and a member's writes to the broker
	// (save, rename, release) keep their order.
	work    []func()
	working bool
}

// offLockLocked queues fn, broker work for r, to run once r.mu is
// released, after the work queued before it; the channel returned is
// closed once fn has run. r.mu must be held.
func (r *room) offLockLocked(fn func()) <-chan struct{} {
	done := make(chan struct{})
	r.work = append(r.work, func() {
		defer close(done)
		fn()
	})
	if !r.working {
		r.working = true
		go r.runWork()
	}
	return done
}

// runWork runs r's queued work until there is none.
func (r *room) runWork() {
	for {
		r.mu.Lock()
		work := r.work
		r.work = nil
		if len(work) == 0 {
			r.working = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		for _, fn := range work {
			fn()
		}
	}
}

// heldMsg is a message waiting in room.held: ready once it may be sent (a
// text, once back from the broker; anything else, at once), to every
// member but exclude.
type heldMsg struct {
	o       *outgoing
	exclude *member
	ready   bool
	// id is the id of a text of this node's on its way through the broker
	// (o is nil until it comes back).
	id uint64
	// msg is that text, and stored its seq in the room once the broker has
	// stored it (0 until then): should the stream discard the text before
	// this node reads it back, a later seq coming back tells that it never
	// will, and msg goes out instead.
	msg    *chatpb.ChatMessage
	stored atomic.Uint64
}

// newRoom returns room name whose members' queues hold queueSize messages.
func newRoom(name string, queueSize int) *room {
	r := &room{name: name, names: make(map[string]*member)}
	r.pace.budget = int64(max(1, queueSize/4))
	return r
}

// systemSkeleton is the skeleton of the server's reserved name.
var systemSkeleton = names.Skeleton(SystemUser)

// taken reports whether a member may not take name: it looks like a name in
// use in this room, or like the reserved name of the server (so nobody can
// pose as "System" or "ѕystem" with a Cyrillic s). Names are compared on
// their skeletons (see package server/names).
func (r *room) taken(name string) bool { return r.takenKey(names.Skeleton(name)) }

// takenKey is taken for a name whose skeleton is key.
func (r *room) takenKey(key string) bool { return key == systemSkeleton || r.names[key] != nil }

// takenFrom reports whether m may not take name, as taken does, but for m's
// own name. It locks r.mu.
func (r *room) takenFrom(m *member, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := names.Skeleton(name)
	return key == systemSkeleton || (r.names[key] != nil && r.names[key] != m)
}

// addName registers m under its name. r.mu must be held.
func (r *room) addName(m *member) {
	m.key = skeletonOf(m)
	r.names[m.key] = m
}

// skeletonOf returns the skeleton of m's name: the one its membership
// record holds when the record is for that name (worked out once, when the
// name was claimed; a skeleton costs a few allocations).
func skeletonOf(m *member) string {
	if m.sess != nil && m.sess.rec != nil && m.sess.rec.Name == m.name && m.sess.rec.Skeleton != "" {
		return m.sess.rec.Skeleton
	}
	return names.Skeleton(m.name)
}

// dropName forgets m's name. r.mu must be held.
func (r *room) dropName(m *member) {
	if r.names[m.key] == m {
		delete(r.names, m.key)
	}
}

// distinct returns want, or want(2), want(3)... whichever is free first.
func (r *room) distinct(want string) string {
	if !r.taken(want) {
		return want
	}
	for i := 2; ; i++ {
		if c := fmt.Sprintf("%s(%d)", want, i); !r.taken(c) {
			return c
		}
	}
}

// hasHistory reports whether r keeps texts: some came back from the
// broker, or some of this node's are on their way there. r.mu must be
// held.
func (r *room) hasHistory() bool {
	if len(r.hist.msgs) > 0 {
		return true
	}
	for _, h := range r.held {
		if h.id != 0 {
			return true
		}
	}
	return false
}

// memberOf returns the member of r connected here whose membership in the
// broker is id, or nil. r.mu must be held.
func (r *room) memberOf(id string) *member {
	for _, m := range r.members {
		if m.sess != nil && m.sess.rec != nil && m.sess.rec.ID == id {
			return m
		}
	}
	return nil
}
