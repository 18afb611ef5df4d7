package moderation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/polychat/polychat/server/broker/brokertest"
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
	t.Run("jetstream", func(t *testing.T) { f(t, openShared(t, brokertest.Server(t), "n1")) })
}

// openShared opens a Shared on ns, as chat node node does; it is closed
// when the test ends.
func openShared(t *testing.T, ns *server.Server, node string) *Shared {
	t.Helper()
	js := brokertest.JetStream(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := OpenShared(ctx, js, SharedOptions{Storage: jetstream.FileStorage, Node: node})
	if err != nil {
		t.Fatalf("OpenShared: %v", err)
	}
	t.Cleanup(s.Close)
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

// TestSharedKeepsEverythingAcrossRestarts starts NATS again on the same
// store, as a restarted chat server does.
func TestSharedKeepsEverythingAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ns := brokertest.ServerAt(t, dir)
	s := openShared(t, ns, "n1")
	apply(t, s, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", Reason: "spam", At: t0})
	apply(t, s, Action{Kind: Topic, Room: "general", Actor: "mia", Reason: "hello", At: t0})
	apply(t, s, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "carl", At: t0})
	apply(t, s, Action{Kind: Unban, Room: "general", Actor: "mia", Target: "carl", At: t0})
	if _, err := s.Claim(context.Background(), "general", "mia", t0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ns.Shutdown()
	ns.WaitForShutdown()

	s = openShared(t, brokertest.ServerAt(t, dir), "n1")
	ctx := context.Background()
	if r, ok := inForce(t, s, Ban, "general", "bob", t0.Add(time.Hour)); !ok || r.Reason != "spam" {
		t.Fatalf("after a restart bob's ban is %+v, %v", r, ok)
	}
	if _, ok := inForce(t, s, Ban, "general", "carl", t0.Add(time.Hour)); ok {
		t.Fatal("after a restart carl's lifted ban holds again")
	}
	if topic, _ := s.Topic(ctx, "general"); topic != "hello" {
		t.Fatalf("after a restart the topic is %q", topic)
	}
	if owners, _ := s.Owners(ctx, "general"); !slices.Equal(owners, []string{"mia"}) {
		t.Fatalf("after a restart the owners are %v", owners)
	}
	if pending, _ := s.Pending(ctx, 10); !slices.Equal(kinds(pending), []Kind{Ban, Topic, Ban, Unban}) {
		t.Fatalf("after a restart the outbox holds %v", kinds(pending))
	}
	// The next action gets a new id, so its audit event_id is new too.
	a, _ := apply(t, s, Action{Kind: Kick, Room: "general", Actor: "mia", Target: "bob", At: t0})
	if a.ID != 6 {
		t.Fatalf("the first action after a restart has id %d; want 6 (after four actions and a claim)", a.ID)
	}
}

// TestSharedHoldsOnEveryNode: what one node applies is in force on the
// others, which are told of it.
func TestSharedHoldsOnEveryNode(t *testing.T) {
	ns := brokertest.Server(t)
	n1, n2 := openShared(t, ns, "n1"), openShared(t, ns, "n2")
	told := make(chan Action, 1)
	n2.Watch(func(a Action) { told <- a })
	ban, _ := apply(t, n1, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", At: t0})
	select {
	case a := <-told:
		if a.ID != ban.ID || a.Kind != Ban || a.Target != "bob" || a.Node != "n1" {
			t.Fatalf("n2 was told %+v; want n1's ban of bob", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("n2 was not told of n1's ban")
	}
	// Watch runs after the fold: the ban is in force on n2 by now.
	if _, ok := inForce(t, n2, Ban, "general", "bob", t0); !ok {
		t.Fatal("n1's ban does not hold on n2")
	}
	// One audit event, whichever node delivers it.
	p1, _ := n1.Pending(context.Background(), 10)
	p2, _ := n2.Pending(context.Background(), 10)
	if len(p1)+len(p2) != 1 {
		t.Fatalf("the nodes hold %d and %d audit events; want one between them", len(p1), len(p2))
	}
}

// TestSharedClaimOnceAcrossNodes claims one room from several nodes at
// once, as concurrent joins do: exactly one wins, on every node.
func TestSharedClaimOnceAcrossNodes(t *testing.T) {
	ns := brokertest.Server(t)
	nodes := []*Shared{openShared(t, ns, "a"), openShared(t, ns, "b"), openShared(t, ns, "c")}
	var wg sync.WaitGroup
	won := make(chan string, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := string(rune('a' + i))
			ok, err := n.Claim(context.Background(), "general", user, t0)
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
	if len(winners) != 1 {
		t.Fatalf("winners %v; want one", winners)
	}
	// A node that lost the claim has folded the winning one by the time
	// its publish was refused only if it read it; wait for every node to
	// reach the log's end.
	for _, n := range nodes {
		info, err := n.stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := n.waitFolded(context.Background(), info.State.LastSeq); err != nil {
			t.Fatal(err)
		}
		if owners, _ := n.Owners(context.Background(), "general"); !slices.Equal(owners, winners) {
			t.Fatalf("owners %v on a node; want %v", owners, winners)
		}
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

// firstUnanswered is a JetStream whose first request for a stream gets no
// answer, as one caught in the stream's leader election among NATS servers
// (chat nodes of a cluster starting together) may not.
type firstUnanswered struct {
	jetstream.JetStream
	asked atomic.Bool
}

func (f *firstUnanswered) Stream(ctx context.Context, name string) (jetstream.Stream, error) {
	if f.asked.CompareAndSwap(false, true) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.JetStream.Stream(ctx, name)
}

// A request left unanswered while the log is set up is asked again: the
// node starts, rather than waiting out its whole start-up deadline.
func TestOpenSharedAsksAgainWhenARequestGetsNoAnswer(t *testing.T) {
	js := brokertest.JetStream(t, brokertest.Server(t))
	ctx, cancel := context.WithTimeout(context.Background(), 3*setupTry)
	defer cancel()
	s, err := OpenShared(ctx, &firstUnanswered{JetStream: js}, SharedOptions{Storage: jetstream.FileStorage, Node: "n1"})
	if err != nil {
		t.Fatalf("OpenShared: %v", err)
	}
	s.Close()
}

// A node whose reader of the log loses its consumer (as it does with the
// NATS server that held it) reads on from where it was: an action taken on
// another node meanwhile holds here too.
func TestSharedReadsOnWhenItsConsumerIsLost(t *testing.T) {
	ns := brokertest.Server(t)
	n1, n2 := openShared(t, ns, "n1"), openShared(t, ns, "n2")
	told := make(chan Action, 4)
	n2.Watch(func(a Action) { told <- a })
	expect := func(target string) {
		t.Helper()
		select {
		case a := <-told:
			if a.Target != target {
				t.Fatalf("n2 was told of %+v; want the ban of %s", a, target)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("n2 was not told of the ban of %s", target)
		}
	}
	apply(t, n1, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", At: t0})
	expect("bob")
	if n := brokertest.DeleteConsumers(t, n2.js, StreamName, AuditConsumer); n != 2 {
		t.Fatalf("deleted %d readers' consumers, want n1's and n2's", n)
	}
	apply(t, n1, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "eve", At: t0})
	expect("eve")
	if _, ok := inForce(t, n2, Ban, "general", "eve", t0); !ok {
		t.Fatal("n1's ban of eve does not hold on n2")
	}
}

// A node that stops with an audit event fetched and not yet delivered gives
// it back: the next start (or another node) sends it at once, not after
// the consumer's ack wait, so an action taken just before a restart
// reaches the audit log with the restarted server.
func TestAnEventHeldByAStoppedNodeIsSentByTheNextAtOnce(t *testing.T) {
	ns := brokertest.Server(t)
	n1 := openShared(t, ns, "n1")
	ban, _ := apply(t, n1, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", At: t0})
	ctx := context.Background()
	if held, err := n1.Pending(ctx, 10); err != nil || len(held) != 1 || held[0].ID != ban.ID {
		t.Fatalf("n1 fetched %+v, %v; want the ban", held, err)
	}
	n1.Close() // as a chat server that stops while LoggerService has not answered

	n2 := openShared(t, ns, "n2")
	pending, err := n2.Pending(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != ban.ID || pending[0].Kind != Ban {
		t.Fatalf("the next node's outbox holds %+v, %v; want the ban n1 did not deliver", pending, err)
	}
}
