// Package moderation keeps what a room's moderators decided: bans, mutes,
// owners and topics, with a log of every action and the audit events that
// log feeds to LoggerService.
//
// The chat server uses it through Store: Shared keeps it in NATS JetStream,
// beside the chat's rooms, so that a ban holds on every node of a cluster and
// across restarts; Memory keeps it in memory, for tests.
package moderation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is what a moderation action does.
type Kind string

// The moderation actions. The values are part of the audit log's event
// types ("CHAT_" + upper case) and of the moderation log, so they never
// change.
const (
	Kick   Kind = "kick"
	Mute   Kind = "mute"
	Unmute Kind = "unmute"
	Ban    Kind = "ban"
	Unban  Kind = "unban"
	Op     Kind = "op"
	Topic  Kind = "topic"
)

// valid reports whether k is one of the actions above.
func (k Kind) valid() bool {
	switch k {
	case Kick, Mute, Unmute, Ban, Unban, Op, Topic:
		return true
	}
	return false
}

// EventType is the LoggerService event type of an action of this kind.
func (k Kind) EventType() string {
	b := []byte("CHAT_" + string(k))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Action is one moderation action in one room.
type Action struct {
	// ID numbers the actions of one store 1, 2, 3 ...; set by Apply.
	ID uint64
	// Kind says what the action does.
	Kind Kind
	// Room is the room acted on.
	Room string
	// Actor is the signed-in user who acted.
	Actor string
	// Target is the user acted on; empty for Topic.
	Target string
	// Reason is the actor's reason; for Topic, the new topic.
	Reason string
	// At is when the action was taken.
	At time.Time
	// Until is when a Mute or Ban ends; zero for a Ban until Unban.
	Until time.Time
	// Node is the chat node that applied it (Shared only; empty in Memory).
	Node string
}

// Restriction is a mute or a ban of one user in one room.
type Restriction struct {
	// Kind is Mute or Ban.
	Kind Kind
	// Room and User name who is restricted where.
	Room, User string
	// By is who imposed it, Reason why.
	By, Reason string
	// Since is when it was imposed.
	Since time.Time
	// Until is when it ends; zero for a ban until Unban.
	Until time.Time
}

// InForce reports whether r still holds at now.
func (r Restriction) InForce(now time.Time) bool {
	return r.Until.IsZero() || now.Before(r.Until)
}

// ErrInvalid wraps the errors of an action that cannot be applied as given
// (an unknown kind, a mute without an end); the chat server checks its
// requests first, so this means a bug in the caller.
var ErrInvalid = errors.New("moderation: invalid action")

// Store keeps moderation state. Implementations are safe for concurrent use.
type Store interface {
	// Apply records a and its effect in one step: Mute and Ban impose a
	// restriction (replacing one of the same kind), Unmute and Unban lift
	// it, Op adds an owner, Topic sets the topic, Kick only records. It
	// returns a with its ID, and whether it changed anything: lifting what
	// is not in force, or opping an owner, changes nothing and is not
	// recorded.
	Apply(ctx context.Context, a Action) (Action, bool, error)
	// Restriction returns the restriction of kind k (Mute or Ban) on user
	// in room, if one is in force at now.
	Restriction(ctx context.Context, k Kind, room, user string, now time.Time) (Restriction, bool, error)
	// Bans returns the bans in force in room at now, sorted by user.
	Bans(ctx context.Context, room string, now time.Time) ([]Restriction, error)
	// Owners returns the owners of room, sorted.
	Owners(ctx context.Context, room string) ([]string, error)
	// Claim makes user the owner of room if room has no owner yet, and
	// reports whether it did; two servers claiming at once make one owner.
	Claim(ctx context.Context, room, user string, at time.Time) (bool, error)
	// Topic returns room's topic, empty when it has none.
	Topic(ctx context.Context, room string) (string, error)
}

// Outbox holds the audit events of applied actions until LoggerService has
// taken them: an action's event is queued by the same step that applies it,
// so it is sent exactly once however the server stops.
type Outbox interface {
	// Pending returns up to limit actions not yet delivered, oldest first.
	Pending(ctx context.Context, limit int) ([]Action, error)
	// Delivered forgets the event of the action with this id.
	Delivered(ctx context.Context, id uint64) error
}

// check returns an ErrInvalid error if a cannot be applied.
func check(a Action) error {
	switch {
	case !a.Kind.valid():
		return errorf("unknown kind %q", a.Kind)
	case a.Room == "" || a.Actor == "":
		return errorf("%s needs a room and an actor", a.Kind)
	case a.Kind != Topic && a.Target == "":
		return errorf("%s needs a target", a.Kind)
	case a.Kind == Mute && a.Until.IsZero():
		return errorf("a mute needs an end")
	case a.At.IsZero():
		return errorf("%s needs a time", a.Kind)
	}
	return nil
}

func errorf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return "moderation: invalid action: " + e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }
