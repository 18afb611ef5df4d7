package chat

import (
	"fmt"
	"strings"
	"sync"
)

// room is a set of members that see each other's messages.
type room struct {
	name string

	// mu is held while a message is given an id, stored and queued to every
	// member, and while a member joins, so that history and live traffic
	// neither overlap nor leave a gap. Queuing never blocks and sends
	// happen on each member's writer, but work under mu can still wait:
	// the store's Append (the SQLite store blocks while its write queue is
	// full), taking an id (the store is written once per block of ids),
	// reading the history on join, and logging a slow client's disconnect.
	mu      sync.Mutex
	members []*member
	names   map[string]*member
	closed  bool // the shutdown notice was sent
}

func newRoom(name string) *room {
	return &room{name: name, names: make(map[string]*member)}
}

// taken reports whether a member may not take name: it is in use in this
// room, or it is the reserved name of the server (in any letter case, so
// nobody can pose as "System").
func (r *room) taken(name string) bool {
	return strings.EqualFold(name, SystemUser) || r.names[name] != nil
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
