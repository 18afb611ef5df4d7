package moderation

import (
	"context"
	"fmt"
	"slices"
)

// Role is what a signed-in user is in a room.
type Role int

// The roles, from least to most.
const (
	// Member is anyone else: no moderation.
	Member Role = iota
	// Owner owns the room: moderates it, but not its other owners.
	Owner
	// Admin is named by the server's operator: moderates every room and
	// cannot be acted on.
	Admin
)

// String is the role as the chat shows it.
func (r Role) String() string {
	switch r {
	case Owner:
		return "owner"
	case Admin:
		return "admin"
	}
	return "member"
}

// Roles answers who may moderate where: the server's admins, named by its
// operator, and each room's owners, kept in a Store.
type Roles struct {
	admins []string // sorted
	store  Store
}

// NewRoles returns the Roles of a server with these admins (signed-in user
// names) whose owners are kept in store.
func NewRoles(admins []string, store Store) *Roles {
	a := slices.Clone(admins)
	slices.Sort(a)
	return &Roles{admins: slices.Compact(a), store: store}
}

// Admins returns the server's admins, sorted.
func (r *Roles) Admins() []string { return slices.Clone(r.admins) }

// Of returns user's role in room.
func (r *Roles) Of(ctx context.Context, room, user string) (Role, error) {
	if _, ok := slices.BinarySearch(r.admins, user); ok {
		return Admin, nil
	}
	owners, err := r.store.Owners(ctx, room)
	if err != nil {
		return Member, err
	}
	if _, ok := slices.BinarySearch(owners, user); ok {
		return Owner, nil
	}
	return Member, nil
}

// Check returns nil if actor may take an action of kind k on target in
// room, or a *DeniedError saying why not. Target is empty for Topic.
func (r *Roles) Check(ctx context.Context, k Kind, room, actor, target string) error {
	role, err := r.Of(ctx, room, actor)
	if err != nil {
		return err
	}
	if role == Member {
		return &DeniedError{fmt.Sprintf("only the owners of room %s and the server's admins may %s", room, k)}
	}
	if target == "" || k == Op || k == Unmute || k == Unban {
		// Granting ownership and lifting restrictions harm nobody.
		return nil
	}
	if target == actor {
		return &DeniedError{fmt.Sprintf("you cannot %s yourself", k)}
	}
	targetRole, err := r.Of(ctx, room, target)
	if err != nil {
		return err
	}
	if targetRole == Admin {
		return &DeniedError{fmt.Sprintf("%s is an admin of this server: nobody may %s them", target, k)}
	}
	if targetRole >= role {
		return &DeniedError{fmt.Sprintf("%s is %s %s of room %s: only an admin may %s them", target, article(targetRole), targetRole, room, k)}
	}
	return nil
}

func article(r Role) string {
	if r == Admin || r == Owner {
		return "an"
	}
	return "a"
}

// DeniedError says why a caller may not moderate; the chat server answers
// it as PERMISSION_DENIED.
type DeniedError struct{ Reason string }

func (e *DeniedError) Error() string { return e.Reason }
