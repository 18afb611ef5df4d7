package moderation

import (
	"slices"
	"strings"
	"time"
)

// state is what is in force: the fold of the actions applied so far, which
// Memory keeps alone and JetStream keeps on every node from the shared log.
// It is not safe for concurrent use; its owner locks.
type state struct {
	restrictions map[key]Restriction
	owners       map[string][]string // room -> sorted owners
	topics       map[string]string
}

// key names a restriction: one of each kind per user per room.
type key struct {
	kind       Kind
	room, user string
}

func newState() *state {
	return &state{
		restrictions: make(map[key]Restriction),
		owners:       make(map[string][]string),
		topics:       make(map[string]string),
	}
}

// changes reports whether applying a would change anything: lifting what
// is not in force at a.At, or opping an owner, does not.
func (st *state) changes(a Action) bool {
	switch a.Kind {
	case Unmute, Unban:
		r, ok := st.restrictions[key{lifted(a.Kind), a.Room, a.Target}]
		return ok && r.InForce(a.At)
	case Op:
		_, found := slices.BinarySearch(st.owners[a.Room], a.Target)
		return !found
	}
	return true
}

// apply folds a into the state. It depends on a alone, so that every node
// folding the same log has the same state.
func (st *state) apply(a Action) {
	switch a.Kind {
	case Mute, Ban:
		st.restrictions[key{a.Kind, a.Room, a.Target}] = Restriction{
			Kind: a.Kind, Room: a.Room, User: a.Target, By: a.Actor, Reason: a.Reason, Since: a.At, Until: a.Until,
		}
	case Unmute, Unban:
		delete(st.restrictions, key{lifted(a.Kind), a.Room, a.Target})
	case Op:
		st.addOwner(a.Room, a.Target)
	case Topic:
		st.topics[a.Room] = a.Reason
	}
}

// addOwner adds user to room's owners and reports whether it was new.
func (st *state) addOwner(room, user string) bool {
	owners := st.owners[room]
	i, found := slices.BinarySearch(owners, user)
	if found {
		return false
	}
	st.owners[room] = slices.Insert(owners, i, user)
	return true
}

// restriction returns the restriction of kind k on user in room in force
// at now.
func (st *state) restriction(k Kind, room, user string, now time.Time) (Restriction, bool) {
	r, ok := st.restrictions[key{k, room, user}]
	if !ok || !r.InForce(now) {
		return Restriction{}, false
	}
	return r, true
}

// bans returns the bans in force in room at now, sorted by user.
func (st *state) bans(room string, now time.Time) []Restriction {
	var bans []Restriction
	for k, r := range st.restrictions {
		if k.kind == Ban && k.room == room && r.InForce(now) {
			bans = append(bans, r)
		}
	}
	slices.SortFunc(bans, func(a, b Restriction) int { return strings.Compare(a.User, b.User) })
	return bans
}

// lifted is the restriction an Unmute or Unban lifts.
func lifted(k Kind) Kind {
	if k == Unmute {
		return Mute
	}
	return Ban
}
