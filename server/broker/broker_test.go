package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker/brokertest"
)

// wait bounds every wait for an event; tests never sleep.
const wait = 10 * time.Second

// quiet is a logger that writes nothing.
var quiet = slog.New(slog.DiscardHandler)

// natsServer starts a NATS server for the nodes of a test to share.
func natsServer(t *testing.T) *server.Server { return brokertest.Server(t) }

// open opens a broker on ns (nil: an embedded server of its own).
func open(t *testing.T, ns *server.Server, mod ...func(*Options)) *Broker {
	t.Helper()
	opts := Options{Server: ns, History: 5, Logger: quiet}
	for _, f := range mod {
		f(&opts)
	}
	b, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// ctx is a context bounded by wait.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

// follower follows a room and collects what it is given.
type follower struct {
	room *Room
	hist []Delivery
	got  chan Delivery
}

func follow(t *testing.T, b *Broker, room string) *follower {
	t.Helper()
	f := &follower{got: make(chan Delivery, 1000)}
	r, err := b.Follow(ctx(t), room, func(h []Delivery) { f.hist = h }, func(d Delivery) { f.got <- d })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	f.room = r
	return f
}

// next returns the next delivery.
func (f *follower) next(t *testing.T) Delivery {
	t.Helper()
	select {
	case d := <-f.got:
		return d
	case <-time.After(wait):
		t.Fatal("no delivery in time")
	}
	return Delivery{}
}

// publish publishes msg and waits until it is stored.
func publish(t *testing.T, r *Room, msg *chatpb.ChatMessage, origin string) {
	t.Helper()
	done := make(chan error, 1)
	r.Publish(msg, origin, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("publish did not finish")
	}
}

func text(room, user, s string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{Room: room, User: user, Message: s, Kind: chatpb.ChatMessage_KIND_TEXT}
}

func TestEmbeddedInMemoryHasANewEpochEachTime(t *testing.T) {
	a := open(t, nil)
	b := open(t, nil)
	if len(a.Epoch()) != 16 || a.Epoch() == b.Epoch() {
		t.Fatalf("epochs %q and %q: want 16 hex digits, different", a.Epoch(), b.Epoch())
	}
	if !a.Connected() || !a.Embedded() || a.ListenAddr() != nil {
		t.Fatalf("connected %v embedded %v listen %v", a.Connected(), a.Embedded(), a.ListenAddr())
	}
}

func TestEmbeddedOnDiskKeepsHistoryAndEpoch(t *testing.T) {
	dir := t.TempDir()
	onDisk := func(o *Options) { o.DataDir = dir }
	b, err := Open(context.Background(), Options{DataDir: dir, History: 5, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	epoch := b.Epoch()
	f := follow(t, b, "general")
	publish(t, f.room, text("general", "Alice", "kept"), "m1")
	f.room.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	again := open(t, nil, onDisk)
	if again.Epoch() != epoch {
		t.Fatalf("epoch %q after a restart, want %q", again.Epoch(), epoch)
	}
	g := follow(t, again, "general")
	if len(g.hist) != 1 || g.hist[0].Msg.GetMessage() != "kept" || g.hist[0].Msg.GetSeq() != 1 || g.hist[0].Origin != "m1" {
		t.Fatalf("history after restart: %v", g.hist)
	}
}

func TestListenOnlyWhenAsked(t *testing.T) {
	b := open(t, nil, func(o *Options) { o.Listen = "127.0.0.1:0" })
	if b.ListenAddr() == nil {
		t.Fatal("no listen address")
	}
	other := open(t, nil, func(o *Options) { o.URLs = []string{"nats://" + b.ListenAddr().String()} })
	if other.Epoch() != b.Epoch() {
		t.Fatal("a node connected over TCP sees another stream")
	}
}

func TestTextsGetRoomSeqsInOneOrderAcrossNodes(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	if a.Epoch() != b.Epoch() {
		t.Fatal("two nodes on one NATS have different epochs")
	}
	fa, fb := follow(t, a, "lobby"), follow(t, b, "lobby")
	other := follow(t, b, "other")

	// Both nodes publish concurrently: each publish may find the other's
	// record stored first, and is renumbered.
	const n = 50
	var wg sync.WaitGroup
	for _, side := range []struct {
		r    *Room
		name string
	}{{fa.room, "A"}, {fb.room, "B"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				side.r.Publish(text("lobby", side.name, fmt.Sprint(side.name, i)), side.name, nil)
			}
		}()
	}
	wg.Wait()
	publish(t, other.room, text("other", "C", "elsewhere"), "C")
	var seenA, seenB []string
	for i := uint64(1); i <= 2*n; i++ {
		da, db := fa.next(t), fb.next(t)
		if da.Msg.GetSeq() != i || db.Msg.GetSeq() != i {
			t.Fatalf("delivery %d: seqs %d and %d", i, da.Msg.GetSeq(), db.Msg.GetSeq())
		}
		seenA, seenB = append(seenA, da.Msg.GetMessage()), append(seenB, db.Msg.GetMessage())
	}
	if fmt.Sprint(seenA) != fmt.Sprint(seenB) {
		t.Fatalf("the nodes saw different orders:\n%v\n%v", seenA, seenB)
	}
	if d := other.next(t); d.Msg.GetSeq() != 1 || d.Msg.GetMessage() != "elsewhere" {
		t.Fatalf("another room's first text: %v", d.Msg)
	}
	if seq, err := a.LastSeq(ctx(t), "lobby"); err != nil || seq != 2*n {
		t.Fatalf("LastSeq %d, %v", seq, err)
	}
	// Nothing was delivered twice: the next delivery on each node is the
	// next text.
	publish(t, fa.room, text("lobby", "A", "last"), "A")
	if da, db := fa.next(t), fb.next(t); da.Msg.GetSeq() != 2*n+1 || db.Msg.GetSeq() != 2*n+1 {
		t.Fatalf("after the burst: seqs %d and %d, want %d", da.Msg.GetSeq(), db.Msg.GetSeq(), 2*n+1)
	}
}

// A text of this node's is delivered here as soon as it is stored, not
// after a further hop through NATS to the room's reader (what a lone
// conversation waits for on every line): with the reader stopped, the
// node's own texts still arrive.
func TestATextOfThisNodesIsDeliveredOnceStored(t *testing.T) {
	f := follow(t, open(t, nil), "lobby")
	f.room.f.Stop()
	for i := range 5 {
		publish(t, f.room, text("lobby", "A", fmt.Sprint(i)), "A")
		if d := f.next(t); d.Msg.GetSeq() != uint64(i+1) || d.Origin != "A" || len(d.Data) == 0 {
			t.Fatalf("text %d: delivered %v from %q with %d bytes", i, d.Msg, d.Origin, len(d.Data))
		}
	}
}

// With its reader running too, each text of this node's is delivered
// once, in order.
func TestATextOfThisNodesIsDeliveredOnce(t *testing.T) {
	f := follow(t, open(t, nil), "lobby")
	const n = 20
	for i := range n {
		f.room.Publish(text("lobby", "A", fmt.Sprint(i)), "A", nil)
	}
	for i := range n {
		if d := f.next(t); d.Msg.GetSeq() != uint64(i+1) {
			t.Fatalf("delivery %d: seq %d", i, d.Msg.GetSeq())
		}
	}
	publish(t, f.room, &chatpb.ChatMessage{Room: "lobby", User: "A", Message: "left", Kind: chatpb.ChatMessage_KIND_LEAVE}, "")
	if d := f.next(t); d.Msg.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Fatalf("after the texts: %v, want the notice (a text delivered twice?)", d.Msg)
	}
}

// A private message this node stored before a text is delivered before it:
// the text is not delivered at once while the reader has not yet read the
// private message back.
func TestAPrivateMessageStoredBeforeATextIsDeliveredFirst(t *testing.T) {
	f := follow(t, open(t, nil), "lobby")
	for i := range 20 {
		f.room.PublishDirect([]Direct{{Msg: text("lobby", "A", fmt.Sprint("private ", i)), To: "B"}}, "A", nil)
		publish(t, f.room, text("lobby", "A", fmt.Sprint("public ", i)), "A")
		first, second := f.next(t), f.next(t)
		if first.To != "B" || second.Msg.GetMessage() != fmt.Sprint("public ", i) {
			t.Fatalf("round %d: delivered %q (to %q) then %q", i, first.Msg.GetMessage(), first.To, second.Msg.GetMessage())
		}
	}
}

func TestHistoryIsTheLastRecordsAndJoinersSeeNoGapNorDuplicate(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	fa := follow(t, a, "r")
	for i := 1; i <= 8; i++ {
		publish(t, fa.room, text("r", "A", fmt.Sprint(i)), "A")
	}
	notice := &chatpb.ChatMessage{Room: "r", User: "system", Message: "old news", Kind: chatpb.ChatMessage_KIND_JOIN}
	publish(t, fa.room, notice, "")
	fb := follow(t, b, "r")
	if len(fb.hist) != 5 || fb.hist[0].Msg.GetSeq() != 4 || fb.hist[4].Msg.GetSeq() != 8 {
		t.Fatalf("history of a room keeping 5: %v", fb.hist)
	}
	publish(t, fa.room, text("r", "A", "9"), "A")
	if d := fb.next(t); d.Msg.GetSeq() != 9 {
		t.Fatalf("first live delivery %v, want seq 9 (the old notice is not replayed)", d.Msg)
	}
}

func TestHostileRoomNames(t *testing.T) {
	ns := natsServer(t)
	b := open(t, ns)
	names := []string{"a.b", "a b", "*", ">", "a.*.>", "日本語 ✓", "", "_", "..", "\t"}
	fs := make([]*follower, len(names))
	for i, name := range names {
		fs[i] = follow(t, b, name)
		publish(t, fs[i].room, text(name, "u", "hello "+name), "")
	}
	for i, name := range names {
		d := fs[i].next(t)
		if d.Msg.GetMessage() != "hello "+name || d.Msg.GetSeq() != 1 {
			t.Fatalf("room %q got %q seq %d", name, d.Msg.GetMessage(), d.Msg.GetSeq())
		}
		select {
		case d := <-fs[i].got:
			t.Fatalf("room %q also got %q", name, d.Msg.GetMessage())
		default:
		}
	}
	rooms, err := b.Rooms(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, ok := rooms[name]; !ok {
			t.Fatalf("Rooms lacks %q: %v", name, rooms)
		}
	}
	for _, name := range names {
		m := &Member{ID: "x", Room: name, Name: name, Skeleton: name}
		if err := b.Claim(ctx(t), m); err != nil {
			t.Fatalf("claim in %q: %v", name, err)
		}
	}
}

func TestDeletedHistoryKeepsTheSeq(t *testing.T) {
	b := open(t, natsServer(t))
	f := follow(t, b, "gone")
	publish(t, f.room, text("gone", "A", "1"), "")
	publish(t, f.room, text("gone", "A", "2"), "")
	f.room.Close()
	if err := b.DeleteHistory(ctx(t), "gone"); err != nil {
		t.Fatal(err)
	}
	rooms, err := b.Rooms(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rooms["gone"]; ok {
		t.Fatal("a deleted room still has history")
	}
	g := follow(t, b, "gone")
	if len(g.hist) != 0 {
		t.Fatalf("history after delete: %v", g.hist)
	}
	publish(t, g.room, text("gone", "A", "3"), "")
	if d := g.next(t); d.Msg.GetSeq() != 3 {
		t.Fatalf("seq after delete %d, want 3 (never reused)", d.Msg.GetSeq())
	}
}

func TestNamesAreDistinctAcrossNodes(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	alice := &Member{ID: "1", Session: "s1", Room: "r", Name: "Alice", Skeleton: "alice"}
	if err := a.Claim(ctx(t), alice); err != nil {
		t.Fatal(err)
	}
	if err := b.Claim(ctx(t), &Member{ID: "2", Room: "r", Name: "ALICE", Skeleton: "alice"}); err != ErrTaken {
		t.Fatalf("second claim: %v, want ErrTaken", err)
	}
	if err := b.Claim(ctx(t), &Member{ID: "3", Room: "other", Name: "Alice", Skeleton: "alice"}); err != nil {
		t.Fatalf("same name in another room: %v", err)
	}
	got, err := b.Lookup(ctx(t), "s1")
	if err != nil || got == nil || got.Name != "Alice" || got.Node != a.Node() {
		t.Fatalf("lookup from the other node: %+v, %v", got, err)
	}
	if err := a.Rename(ctx(t), alice, "Alicia", "alicia"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Lookup(ctx(t), "s1"); got == nil || got.Name != "Alicia" {
		t.Fatalf("session after a rename: %+v", got)
	}
	if err := b.Claim(ctx(t), &Member{ID: "4", Room: "r", Name: "Alice", Skeleton: "alice"}); err != nil {
		t.Fatalf("the old name after a rename: %v", err)
	}
	ms, err := a.RoomMembers(ctx(t), "r")
	if err != nil || len(ms) != 2 {
		t.Fatalf("room members %v, %v", ms, err)
	}
	if err := a.Release(ctx(t), alice); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Lookup(ctx(t), "s1"); got != nil {
		t.Fatalf("session after release: %+v", got)
	}
}

func TestTakeOverTellsTheHolder(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	taken := make(chan string, 1)
	if err := a.Watch(ctx(t), func(room, skel string) { taken <- room + "/" + skel }, func([]*Member) {}); err != nil {
		t.Fatal(err)
	}
	m := &Member{ID: "1", Session: "s", Room: "r.x", Name: "Bob", Skeleton: "bob"}
	if err := a.Claim(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	got, err := b.Lookup(ctx(t), "s")
	if err != nil || got == nil {
		t.Fatalf("lookup: %v %v", got, err)
	}
	if err := b.TakeOver(ctx(t), got); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-taken:
		if k != "r.x/bob" {
			t.Fatalf("taken over %q", k)
		}
	case <-time.After(wait):
		t.Fatal("the holder was not told")
	}
	// The old holder's copy is stale: it can no longer release the name.
	if err := a.Release(ctx(t), m); err != ErrChanged {
		t.Fatalf("stale release: %v, want ErrChanged", err)
	}
}

func TestMembersOfAGoneNodeAreOrphaned(t *testing.T) {
	ns := natsServer(t)
	ttl := func(o *Options) { o.NodeTTL = 3 * time.Second }
	a, b := open(t, ns, ttl), open(t, ns, ttl)
	orphans := make(chan []*Member, 4)
	if err := b.Watch(ctx(t), func(string, string) {}, func(ms []*Member) { orphans <- ms }); err != nil {
		t.Fatal(err)
	}
	if err := a.Claim(ctx(t), &Member{ID: "1", Room: "r", Name: "Ann", Skeleton: "ann"}); err != nil {
		t.Fatal(err)
	}
	// A crash: the heartbeat stops and the liveness key is not deleted.
	close(a.stopBeat)
	<-a.beatDone
	a.stopBeat = nil
	start := time.Now()
	select {
	case ms := <-orphans:
		if len(ms) != 1 || ms[0].Name != "Ann" {
			t.Fatalf("orphans %+v", ms)
		}
		if err := b.Adopt(ctx(t), ms[0]); err != nil {
			t.Fatal(err)
		}
		if ms[0].Node != b.Node() || ms[0].DroppedAt.IsZero() {
			t.Fatalf("adopted %+v", ms[0])
		}
	case <-time.After(wait):
		t.Fatal("the gone node's members were not orphaned")
	}
	if d := time.Since(start); d > 3*time.Second+2*time.Second {
		t.Fatalf("found %s after the crash; the node TTL is 3s", d)
	}
	// A node starting afterwards finds nothing orphaned: b holds Ann now.
	c := open(t, ns, ttl)
	late := make(chan []*Member, 1)
	if err := c.Watch(ctx(t), func(string, string) {}, func(ms []*Member) { late <- ms }); err != nil {
		t.Fatal(err)
	}
	// A graceful stop of b orphans Ann at once.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case ms := <-late:
		if len(ms) != 1 || ms[0].Name != "Ann" {
			t.Fatalf("orphans after b stopped: %+v", ms)
		}
	case <-time.After(wait):
		t.Fatal("a stopped node's members were not orphaned")
	}
}

func TestCountersNeverRepeat(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	seen := make(map[uint64]bool)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, br := range []*Broker{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				first, err := br.Reserve(context.Background(), "ids", 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i := first; i < first+3; i++ {
					if seen[i] {
						t.Errorf("%d handed out twice", i)
					}
					seen[i] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 4*20*3 || !seen[1] {
		t.Fatalf("%d numbers, 1 handed out: %v", len(seen), seen[1])
	}
	if err := a.RaiseCounter(ctx(t), "ids", 1000); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.Reserve(ctx(t), "ids", 1); n != 1000 {
		t.Fatalf("after raising to 1000: %d", n)
	}
}

// Once a burst is published, the room's queue keeps none of its messages
// (a room of a thousand joins would otherwise hold their notices as long
// as it is followed).
func TestAPublishedBurstIsNotKept(t *testing.T) {
	f := follow(t, open(t, nil), "lobby")
	const n = 100
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		f.room.Publish(text("lobby", "A", fmt.Sprint(i)), "A", func(error) { wg.Done() })
	}
	wg.Wait()
	f.room.mu.Lock()
	defer f.room.mu.Unlock()
	if kept := f.room.queue[:cap(f.room.queue)]; len(kept) > 0 {
		t.Fatalf("the queue still holds %d slots after the burst", len(kept))
	}
}
