package moderation

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// t0 is a fixed moment: the stores take the time from the caller, so the
// tests choose it.
var t0 = time.Date(2026, 1, 2, 14, 0, 0, 0, time.UTC)

// stores runs f against each Store implementation.
func stores(t *testing.T, f func(t *testing.T, s interface {
	Store
	Outbox
})) {
	t.Run("memory", func(t *testing.T) { f(t, NewMemory()) })
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t, filepath.Join(t.TempDir(), "chat.db"))) })
}

func openSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func apply(t *testing.T, s Store, a Action) (Action, bool) {
	t.Helper()
	got, changed, err := s.Apply(context.Background(), a)
	if err != nil {
		t.Fatalf("Apply(%+v): %v", a, err)
	}
	return got, changed
}

func inForce(t *testing.T, s Store, k Kind, room, user string, now time.Time) (Restriction, bool) {
	t.Helper()
	r, ok, err := s.Restriction(context.Background(), k, room, user, now)
	if err != nil {
		t.Fatalf("Restriction: %v", err)
	}
	return r, ok
}

func TestMuteHoldsUntilItEnds(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		until := t0.Add(10 * time.Minute)
		apply(t, s, Action{Kind: Mute, Room: "general", Actor: "alice", Target: "bob", Reason: "spam", At: t0, Until: until})
		r, ok := inForce(t, s, Mute, "general", "bob", until.Add(-time.Nanosecond))
		if !ok || r.By != "alice" || r.Reason != "spam" || !r.Until.Equal(until) || !r.Since.Equal(t0) {
			t.Fatalf("just before the end: %+v, %v; want alice's mute until %v", r, ok, until)
		}
		if _, ok := inForce(t, s, Mute, "general", "bob", until); ok {
			t.Fatal("the mute still holds at its end")
		}
		if _, ok := inForce(t, s, Mute, "red", "bob", t0); ok {
			t.Fatal("a mute in general holds in red")
		}
		if _, ok := inForce(t, s, Ban, "general", "bob", t0); ok {
			t.Fatal("a mute is a ban")
		}
	})
}

func TestUnbanLiftsOnlyABanInForce(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "alice", Target: "bob", At: t0})
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "alice", Target: "carol", At: t0, Until: t0.Add(time.Hour)})
		if _, ok := inForce(t, s, Ban, "general", "bob", t0.Add(1000*time.Hour)); !ok {
			t.Fatal("a ban without an end ended")
		}
		if _, changed := apply(t, s, Action{Kind: Unban, Room: "general", Actor: "alice", Target: "carol", At: t0.Add(2 * time.Hour)}); changed {
			t.Fatal("lifting an expired ban changed something")
		}
		if _, changed := apply(t, s, Action{Kind: Unban, Room: "general", Actor: "dave", Target: "bob", At: t0.Add(time.Minute)}); !changed {
			t.Fatal("Unban did not lift bob's ban")
		}
		if _, ok := inForce(t, s, Ban, "general", "bob", t0.Add(time.Minute)); ok {
			t.Fatal("bob is still banned after Unban")
		}
		pending, err := s.Pending(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(pending); !slices.Equal(got, []Kind{Ban, Ban, Unban}) {
			t.Fatalf("audit outbox holds %v; want the two bans and the one unban that changed something", got)
		}
	})
}

func TestBansListsThoseInForceByUser(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "alice", Target: "zed", At: t0})
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "alice", Target: "bob", At: t0, Until: t0.Add(time.Hour)})
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "alice", Target: "old", At: t0, Until: t0.Add(time.Minute)})
		apply(t, s, Action{Kind: Ban, Room: "red", Actor: "alice", Target: "amy", At: t0})
		apply(t, s, Action{Kind: Mute, Room: "general", Actor: "alice", Target: "al", At: t0, Until: t0.Add(time.Hour)})
		// A second ban replaces the first: bob's now has no end.
		apply(t, s, Action{Kind: Ban, Room: "general", Actor: "carol", Target: "bob", Reason: "again", At: t0.Add(time.Second)})
		bans, err := s.Bans(context.Background(), "general", t0.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		var users []string
		for _, b := range bans {
			users = append(users, b.User)
		}
		if !slices.Equal(users, []string{"bob", "zed"}) {
			t.Fatalf("bans in general: %v; want [bob zed]", users)
		}
		if b := bans[0]; b.By != "carol" || b.Reason != "again" || !b.Until.IsZero() {
			t.Fatalf("bob's ban is %+v; want carol's second ban, without an end", b)
		}
	})
}

func TestOwners(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		ctx := context.Background()
		if ok, err := s.Claim(ctx, "general", "mia", t0); err != nil || !ok {
			t.Fatalf("first claim: %v, %v; want it to make mia the owner", ok, err)
		}
		if ok, err := s.Claim(ctx, "general", "bob", t0); err != nil || ok {
			t.Fatalf("second claim: %v, %v; want a room with an owner to keep it", ok, err)
		}
		if _, changed := apply(t, s, Action{Kind: Op, Room: "general", Actor: "mia", Target: "carl", At: t0}); !changed {
			t.Fatal("Op did not add an owner")
		}
		if _, changed := apply(t, s, Action{Kind: Op, Room: "general", Actor: "carl", Target: "mia", At: t0}); changed {
			t.Fatal("opping an owner changed something")
		}
		owners, err := s.Owners(ctx, "general")
		if err != nil || !slices.Equal(owners, []string{"carl", "mia"}) {
			t.Fatalf("owners: %v, %v; want [carl mia]", owners, err)
		}
		if owners, _ := s.Owners(ctx, "red"); len(owners) != 0 {
			t.Fatalf("red has owners %v", owners)
		}
	})
}

func TestTopic(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		ctx := context.Background()
		if topic, err := s.Topic(ctx, "general"); err != nil || topic != "" {
			t.Fatalf("topic of a new room: %q, %v", topic, err)
		}
		apply(t, s, Action{Kind: Topic, Room: "general", Actor: "mia", Reason: "release on Friday", At: t0})
		apply(t, s, Action{Kind: Topic, Room: "general", Actor: "mia", Reason: "released", At: t0})
		if topic, err := s.Topic(ctx, "general"); err != nil || topic != "released" {
			t.Fatalf("topic: %q, %v; want the last one set", topic, err)
		}
	})
}

func TestOutboxDeliversInOrderAndForgets(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		ctx := context.Background()
		var ids []uint64
		for _, k := range []Kind{Kick, Mute, Ban, Topic} {
			a, _ := apply(t, s, Action{Kind: k, Room: "general", Actor: "mia", Target: "bob", At: t0, Until: t0.Add(time.Hour)})
			ids = append(ids, a.ID)
		}
		if !slices.IsSorted(ids) || ids[0] == 0 {
			t.Fatalf("ids %v; want increasing from 1", ids)
		}
		first, err := s.Pending(ctx, 2)
		if err != nil || len(first) != 2 || first[0].ID != ids[0] || first[1].ID != ids[1] {
			t.Fatalf("Pending(2) = %+v, %v; want the first two actions", first, err)
		}
		if first[0].Kind != Kick || first[0].Actor != "mia" || first[0].Target != "bob" || !first[0].At.Equal(t0) {
			t.Fatalf("pending kick is %+v", first[0])
		}
		if err := s.Delivered(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		rest, err := s.Pending(ctx, 10)
		if err != nil || len(rest) != 3 || rest[0].ID != ids[1] {
			t.Fatalf("after delivering the first: %+v, %v", rest, err)
		}
	})
}

func TestInvalidActionsAreRefused(t *testing.T) {
	stores(t, func(t *testing.T, s interface {
		Store
		Outbox
	}) {
		for _, a := range []Action{
			{Kind: "dance", Room: "general", Actor: "mia", Target: "bob", At: t0},
			{Kind: Mute, Room: "general", Actor: "mia", Target: "bob", At: t0},
			{Kind: Ban, Room: "general", Actor: "mia", At: t0},
			{Kind: Kick, Room: "general", Target: "bob", At: t0},
			{Kind: Kick, Room: "general", Actor: "mia", Target: "bob"},
		} {
			if _, _, err := s.Apply(context.Background(), a); !errors.Is(err, ErrInvalid) {
				t.Errorf("Apply(%+v) = %v; want ErrInvalid", a, err)
			}
		}
		if pending, _ := s.Pending(context.Background(), 10); len(pending) != 0 {
			t.Fatalf("refused actions reached the outbox: %+v", pending)
		}
	})
}

// TestSQLiteKeepsEverythingAcrossRestarts reopens the database as a
// restarted server does.
func TestSQLiteKeepsEverythingAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s := openSQLite(t, path)
	apply(t, s, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", Reason: "spam", At: t0})
	apply(t, s, Action{Kind: Topic, Room: "general", Actor: "mia", Reason: "hello", At: t0})
	if _, err := s.Claim(context.Background(), "general", "mia", t0); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSQLite(t, path)
	ctx := context.Background()
	if r, ok := inForce(t, s, Ban, "general", "bob", t0.Add(time.Hour)); !ok || r.Reason != "spam" {
		t.Fatalf("after a restart bob's ban is %+v, %v", r, ok)
	}
	if topic, _ := s.Topic(ctx, "general"); topic != "hello" {
		t.Fatalf("after a restart the topic is %q", topic)
	}
	if owners, _ := s.Owners(ctx, "general"); !slices.Equal(owners, []string{"mia"}) {
		t.Fatalf("after a restart the owners are %v", owners)
	}
	if pending, _ := s.Pending(ctx, 10); !slices.Equal(kinds(pending), []Kind{Ban, Topic}) {
		t.Fatalf("after a restart the outbox holds %v", kinds(pending))
	}
	// The next action gets a new id, so its audit event_id is new too.
	a, _ := apply(t, s, Action{Kind: Kick, Room: "general", Actor: "mia", Target: "bob", At: t0})
	if a.ID != 3 {
		t.Fatalf("the first action after a restart has id %d; want 3", a.ID)
	}
}

// TestSQLiteClaimOnceAcrossHandles claims one room from several handles on
// one database at once, as concurrent joins do: exactly one wins.
func TestSQLiteClaimOnceAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	handles := []*SQLite{openSQLite(t, path), openSQLite(t, path), openSQLite(t, path)}
	var wg sync.WaitGroup
	won := make(chan string, len(handles))
	for i, h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := string(rune('a' + i))
			ok, err := h.Claim(context.Background(), "general", user, t0)
			if err != nil {
				t.Errorf("claim by %s: %v", user, err)
			}
			if ok {
				won <- user
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for u := range won {
		winners = append(winners, u)
	}
	owners, err := handles[0].Owners(context.Background(), "general")
	if err != nil || len(winners) != 1 || !slices.Equal(owners, winners) {
		t.Fatalf("winners %v, owners %v (%v); want one winner who owns the room", winners, owners, err)
	}
}

func TestEventType(t *testing.T) {
	if got := Ban.EventType(); got != "CHAT_BAN" {
		t.Fatalf("Ban.EventType() = %q", got)
	}
}

func kinds(actions []Action) []Kind {
	var out []Kind
	for _, a := range actions {
		out = append(out, a.Kind)
	}
	return out
}
