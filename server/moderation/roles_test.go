package moderation

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	ctx := context.Background()
	store := NewMemory()
	if _, err := store.Claim(ctx, "general", "olga", t0); err != nil {
		t.Fatal(err)
	}
	apply(t, store, Action{Kind: Op, Room: "general", Actor: "olga", Target: "oscar", At: t0})
	roles := NewRoles([]string{"zoe", "adam", "zoe"}, store)
	if got := roles.Admins(); strings.Join(got, ",") != "adam,zoe" {
		t.Fatalf("Admins() = %v", got)
	}
	for _, c := range []struct {
		room, user string
		want       Role
	}{
		{"general", "adam", Admin}, {"red", "zoe", Admin},
		{"general", "olga", Owner}, {"general", "oscar", Owner},
		{"red", "olga", Member}, {"general", "bob", Member},
	} {
		if got, err := roles.Of(ctx, c.room, c.user); err != nil || got != c.want {
			t.Errorf("Of(%s, %s) = %v, %v; want %v", c.room, c.user, got, err, c.want)
		}
	}
	for _, c := range []struct {
		kind            Kind
		room, actor     string
		target, refusal string // refusal: a phrase of the refusal, empty when allowed
	}{
		{Kick, "general", "olga", "bob", ""},
		{Ban, "general", "adam", "olga", ""},
		{Topic, "general", "oscar", "", ""},
		{Op, "general", "oscar", "bob", ""},
		{Unban, "general", "olga", "oscar", ""},
		{Kick, "general", "bob", "carl", "only the owners of room general and the server's admins may kick"},
		{Topic, "red", "olga", "", "only the owners of room red"},
		{Ban, "general", "olga", "oscar", "oscar is an owner of room general: only an admin may ban them"},
		{Mute, "general", "olga", "zoe", "zoe is an admin"},
		{Ban, "general", "adam", "zoe", "zoe is an admin"},
		{Kick, "general", "olga", "olga", "you cannot kick yourself"},
	} {
		err := roles.Check(ctx, c.kind, c.room, c.actor, c.target)
		var denied *DeniedError
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("%s %s by %s in %s: %v; want allowed", c.kind, c.target, c.actor, c.room, err)
		case c.refusal != "" && (!errors.As(err, &denied) || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s %s by %s in %s: %v; want a refusal saying %q", c.kind, c.target, c.actor, c.room, err, c.refusal)
		}
	}
}
