package chat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc/codes"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
)

// natsServer starts a NATS server for the nodes of a test to share.
func natsServer(t *testing.T) *server.Server { return brokertest.Server(t) }

// node is a chat node of a test cluster.
type node struct {
	*testServer
	broker *broker.Broker
}

// startNode starts a chat node on ns with cfg (its broker set here).
func startNode(t *testing.T, ns *server.Server, cfg Config, ttl time.Duration) *node {
	t.Helper()
	b := openBroker(t, broker.Options{Server: ns, History: 50, NodeTTL: ttl})
	cfg.Broker, cfg.History = b, 50
	return &node{testServer: startServer(t, cfg), broker: b}
}

// cluster starts n chat nodes on one NATS server.
func cluster(t *testing.T, n int, cfg Config) []*node {
	t.Helper()
	ns := natsServer(t)
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startNode(t, ns, cfg, 0)
	}
	return nodes
}

func TestClusterMessagesReachEveryNodeInOneOrder(t *testing.T) {
	nodes := cluster(t, 3, Config{})
	a := nodes[0].join(t, "Alice", "lobby")
	b := nodes[1].join(t, "Bob", "lobby")
	a.expect(kJoin, "Bob joined the room")
	// Both send at once; everyone else sees one order.
	for i := range 20 {
		a.say(fmt.Sprint("a", i))
		b.say(fmt.Sprint("b", i))
	}
	// Alice's join notice, on its way through the broker as Bob joined,
	// may reach Bob, and the other node's texts may overtake it (they are
	// not held behind Bob's own).
	var fromA, fromB []string
	for range 20 {
		if m := b.nextAfterJoinOf("Alice"); m.GetKind() != kText {
			t.Fatalf("Bob got %s %q, want a text", m.GetKind(), m.GetMessage())
		} else {
			fromA = append(fromA, m.GetMessage())
		}
		fromB = append(fromB, a.expect(kText, "").GetMessage())
	}
	for i := range 20 {
		if fromA[i] != fmt.Sprint("a", i) || fromB[i] != fmt.Sprint("b", i) {
			t.Fatalf("a sender's texts out of order: %v / %v", fromA, fromB)
		}
	}
	// A member joining on a third node gets the shared history, in the
	// stream's order, with seqs 1..40.
	c := newClient(t, nodes[2].open(t, nil, chatwire.UserKey, "Carol", chatwire.RoomKey, "lobby"))
	c.expect(kSys, "Welcome, Carol! You are in room lobby.")
	c.expect(chatpb.ChatMessage_KIND_HISTORY_START, "")
	for i := uint64(1); i <= 40; i++ {
		if m := c.expect(kText, ""); m.GetSeq() != i {
			t.Fatalf("history text %d has seq %d", i, m.GetSeq())
		}
	}
	c.expect(chatpb.ChatMessage_KIND_HISTORY_END, "")
	a.expect(kJoin, "Carol joined the room")
	if m := b.nextAfterJoinOf("Alice"); m.GetKind() != kJoin || m.GetMessage() != "Carol joined the room" {
		t.Fatalf("Bob got %s %q, want Carol's join", m.GetKind(), m.GetMessage())
	}
	c.say("hi from C")
	a.expectText("Carol", "hi from C")
	b.expectText("Carol", "hi from C")
}

func TestClusterNamesAreDistinctAcrossNodes(t *testing.T) {
	nodes := cluster(t, 2, Config{})
	a := nodes[0].join(t, "Alice", "")
	b := newClient(t, nodes[1].open(t, nil, chatwire.UserKey, "alice"))
	b.expect(kSys, "Welcome, alice(2)! You are in room general.")
	a.expect(kJoin, "alice(2) joined the room")

	// Client(N) never collides, whichever node numbers it.
	seen := map[string]bool{}
	for i := range 6 {
		c := newClient(t, nodes[i%2].open(t, nil))
		w := c.expect(kSys, "").GetMessage()
		if seen[w] {
			t.Fatalf("two unnamed members got %q", w)
		}
		seen[w] = true
	}

	// A rename claims the new name cluster-wide.
	anon := newClient(t, nodes[1].open(t, nil))
	anon.expect(kSys, "")
	if err := anon.stream.Send(&chatpb.ChatMessage{User: "ALICE", Message: "hello"}); err != nil {
		t.Fatal(err)
	}
	for {
		m := a.next()
		if m.GetKind() == kSys {
			if !strings.HasSuffix(m.GetMessage(), " is now known as ALICE(3)") {
				t.Fatalf("rename notice %q", m.GetMessage())
			}
			break
		}
	}
	a.expectText("ALICE(3)", "hello")
}

func TestClusterResumeOnAnotherNode(t *testing.T) {
	nodes := cluster(t, 2, Config{ResumeGrace: grace})
	bob := nodes[1].join(t, "Bob", "")
	alice := nodes[0].joinDroppable(t, "Alice")
	bob.expect(kJoin, "Alice joined the room")
	bob.say("one")
	first := alice.nextAfterJoinOf("Bob")
	if first.GetKind() != kText || first.GetMessage() != "one" {
		t.Fatalf("Alice got %s %q, want Bob's text", first.GetKind(), first.GetMessage())
	}
	alice.drop()
	bob.say("two")
	bob.say("three")

	// Alice comes back on the other node, from the last text she showed.
	back := nodes[1].openDroppable(t, chatwire.UserKey, "Alice",
		chatwire.ResumeTokenKey, alice.welcome.GetResumeToken(),
		chatwire.ResumeFromKey, resumeFrom(first.GetEpoch(), first.GetSeq()))
	w := back.expect(kSys, "Welcome back, Alice! You are in room general.")
	if !w.GetResumed() || w.GetResumeToken() != alice.welcome.GetResumeToken() {
		t.Fatalf("welcome %v", w)
	}
	back.expectText("Bob", "two")
	back.expectText("Bob", "three")
	bob.say("four")
	back.expectText("Bob", "four")
	back.say("I'm back")
	bob.expectText("Alice", "I'm back")
	// Bob saw no leave or join: his next message is Alice's text above.

	// The old node no longer holds Alice: her name is not free there.
	c := newClient(t, nodes[0].open(t, nil, chatwire.UserKey, "Alice"))
	c.expect(kSys, "Welcome, Alice(2)! You are in room general.")
	bob.expect(kJoin, "Alice(2) joined the room")
}

func TestClusterMembersOfACrashedNodeLeaveWithinTheBound(t *testing.T) {
	ns := natsServer(t)
	const ttl, graceTime = 2 * time.Second, 500 * time.Millisecond
	a := startNode(t, ns, Config{ResumeGrace: graceTime}, ttl)
	b := startNode(t, ns, Config{ResumeGrace: graceTime}, ttl)
	bob := b.join(t, "Bob", "")
	ann := a.join(t, "Ann", "")
	bob.expect(kJoin, "Ann joined the room")
	ann.say("bye")
	bob.expectText("Ann", "bye")

	// A crash: node a's streams are cut and its broker stops refreshing
	// its liveness without a word.
	crashed := time.Now()
	a.srv.Stop()
	a.broker.Conn().Close()
	bob.expect(kLeave, "Ann left the room")
	if d := time.Since(crashed); d > ttl+graceTime+3*time.Second {
		t.Fatalf("left %s after the crash; the bound is the node TTL %s + grace %s", d, ttl, graceTime)
	}
	// Her name is free again.
	c := newClient(t, b.open(t, nil, chatwire.UserKey, "Ann"))
	c.expect(kSys, "Welcome, Ann! You are in room general.")
}

func TestClusterNoticesWaitForTheTextsBeforeThem(t *testing.T) {
	nodes := cluster(t, 2, Config{})
	here := nodes[0].join(t, "Here", "")
	there := nodes[1].join(t, "There", "")
	here.expect(kJoin, "There joined the room")
	bye := nodes[0].join(t, "Bye", "")
	here.expect(kJoin, "Bye joined the room")
	// Here's join notice may still have been on its way through the broker
	// when There joined (notices are not history): There may get it.
	if m := there.expect(kJoin, ""); m.GetMessage() == "Here joined the room" {
		there.expect(kJoin, "Bye joined the room")
	} else if m.GetMessage() != "Bye joined the room" {
		t.Fatalf("There got %q", m.GetMessage())
	}
	for i := range 5 {
		bye.say(fmt.Sprint("last words ", i))
	}
	if err := bye.stream.Send(&chatpb.ChatMessage{Kind: kLeave}); err != nil {
		t.Fatal(err)
	}
	// On its own node too, the leave notice (sent at once) waits for the
	// texts still on their way through the broker.
	for _, c := range []*client{here, there} {
		for i := range 5 {
			c.expectText("Bye", fmt.Sprint("last words ", i))
		}
		c.expect(kLeave, "Bye left the room")
	}
}

// An action travels like a text: to the other nodes, kept in the shared
// history with a seq, no echo to its sender.
func TestClusterActionsTravelLikeTexts(t *testing.T) {
	nodes := cluster(t, 3, Config{})
	alice := nodes[0].join(t, "Alice", "")
	bob := nodes[1].join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	if err := alice.stream.Send(&chatpb.ChatMessage{Kind: kAction, Message: "waves\n"}); err != nil {
		t.Fatal(err)
	}
	if got := bob.nextAfterJoinOf("Alice"); got.GetKind() != kAction || got.GetMessage() != "* Alice waves" ||
		got.GetUser() != "Alice" || got.GetSeq() != 1 {
		t.Fatalf("Bob got %v", got)
	}
	bob.say("hi")
	alice.expectText("Bob", "hi")
	carol := newClient(t, nodes[2].open(t, nil, chatwire.UserKey, "Carol"))
	carol.expect(kSys, "Welcome, Carol! You are in room general.")
	carol.expect(kStart, "")
	carol.expect(kAction, "* Alice waves")
	carol.expectText("Bob", "hi")
	carol.expect(kEnd, "")
	// No echo: Alice's next message is Carol's join.
	alice.expect(kJoin, "Carol joined the room")
}

// A private message reaches its recipient on another node, and the
// sender's echo, in order with the room's texts; nobody else gets it, and
// it is not history.
func TestClusterPrivateMessageReachesAnotherNode(t *testing.T) {
	nodes := cluster(t, 2, Config{})
	alice := nodes[0].join(t, "Alice", "")
	bob := nodes[1].join(t, "Bob", "")
	carol := nodes[1].join(t, "Carol", "")
	alice.expect(kJoin, "Bob joined the room")
	alice.expect(kJoin, "Carol joined the room")
	// Alice's join notice may still have been on its way from her node when
	// Bob and Carol joined (notices are not history): they may get it, even
	// after Carol's, which Carol's node may store first. It comes before
	// Alice's texts, which her node stores after it.
	if m := bob.nextAfterJoinOf("Alice"); m.GetKind() != kJoin || m.GetMessage() != "Carol joined the room" {
		t.Fatalf("Bob got %s %q, want Carol's join", m.GetKind(), m.GetMessage())
	}

	alice.say("before")
	alice.whisper("bob", "psst") // a look-alike name
	alice.say("after")
	if m := bob.nextAfterJoinOf("Alice"); m.GetKind() != kText || m.GetMessage() != "before" {
		t.Fatalf("Bob got %s %q, want Alice's text", m.GetKind(), m.GetMessage())
	}
	got := bob.expect(kPrivate, "[private from Alice] psst")
	if got.GetUser() != "Alice" || got.GetRecipient() != "Bob" || got.GetSeq() != 0 || got.GetId() == 0 {
		t.Fatalf("Bob got %v", got)
	}
	bob.expectText("Alice", "after")
	echo := alice.expect(kPrivate, "[private to Bob] psst")
	if echo.GetRecipient() != "Bob" || echo.GetId() != got.GetId() {
		t.Fatalf("Alice's echo is %v", echo)
	}
	if m := carol.nextAfterJoinOf("Alice"); m.GetKind() != kText || m.GetMessage() != "before" {
		t.Fatalf("Carol got %s %q, want Alice's text", m.GetKind(), m.GetMessage())
	}
	carol.expectText("Alice", "after")

	// Bob answers across the nodes; a member joining later sees only the
	// public texts.
	bob.whisper("Alice", "hi back")
	alice.expect(kPrivate, "[private from Bob] hi back")
	bob.expect(kPrivate, "[private to Alice] hi back")
	dave := nodes[0].join(t, "Dave", "")
	dave.expect(kStart, "")
	dave.expectText("Alice", "before")
	dave.expectText("Alice", "after")
	dave.expect(kEnd, "")
}

// A name nobody has on any node, or a member of another node whose
// connection dropped, gets the sender a notice.
func TestClusterPrivateMessageToNobodyOrADroppedMember(t *testing.T) {
	ns := natsServer(t)
	ended := streamEnds{noMetrics{}, make(chan codes.Code, 1)}
	a := startNode(t, ns, Config{ResumeGrace: grace}, 0)
	b := startNode(t, ns, Config{ResumeGrace: grace, Metrics: ended}, 0)
	alice := a.join(t, "Alice", "")
	bob := b.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	alice.whisper("Zed", "hello?")
	alice.expect(kSys, `Nobody named "Zed" is in room general; the private message was not sent`)
	bob.drop()
	if c := <-ended.codes; c != codes.Canceled {
		t.Fatalf("Bob's stream ended with %v, want CANCELLED", c)
	}
	alice.whisper("Bob", "are you there?")
	alice.expect(kSys, "Bob is not connected right now; the private message was not sent")
}

// ListMembers and ListRooms on any node list the members of every node,
// connected ones only.
func TestClusterPresenceListsEveryNode(t *testing.T) {
	ns := natsServer(t)
	ended := streamEnds{noMetrics{}, make(chan codes.Code, 1)}
	a := startNode(t, ns, Config{ResumeGrace: grace, Metrics: ended}, 0)
	b := startNode(t, ns, Config{ResumeGrace: grace}, 0)
	a.join(t, "Alice", "")
	b.join(t, "bob", "")
	b.join(t, "Dave", "red")
	zed := a.joinDroppable(t, "Zed")
	zed.drop()
	if c := <-ended.codes; c != codes.Canceled {
		t.Fatalf("Zed's stream ended with %v, want CANCELLED", c)
	}
	ctx := context.Background()
	for _, n := range []*node{a, b} {
		cli := chatpb.NewChatServiceClient(n.conn(t))
		resp, err := cli.ListMembers(ctx, &chatpb.ListMembersRequest{Room: "general"})
		if err != nil || !slices.Equal(memberNames(resp), []string{"Alice", "bob"}) || resp.GetTotal() != 2 {
			t.Fatalf("members of general: %v, %v", resp, err)
		}
		rooms, err := cli.ListRooms(ctx, &chatpb.ListRoomsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rooms.GetRooms() {
			got = append(got, fmt.Sprintf("%s=%d", r.GetName(), r.GetMemberCount()))
		}
		if !slices.Equal(got, []string{"general=2", "red=1"}) || rooms.GetTotal() != 2 {
			t.Fatalf("rooms %v (total %d)", got, rooms.GetTotal())
		}
	}
}

// errorLog is a slog handler that counts the records at error level.
type errorLog struct{ errors chan string }

func (h errorLog) Enabled(context.Context, slog.Level) bool { return true }
func (h errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.errors <- r.Message
	}
	return nil
}
func (h errorLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h errorLog) WithGroup(string) slog.Handler      { return h }

// A room idle on one node but with members on another keeps its history,
// and its idle time starts again; that is no error.
func TestClusterRoomInUseElsewhereDoesNotExpire(t *testing.T) {
	ns := natsServer(t)
	errs := errorLog{make(chan string, 10)}
	a := startNode(t, ns, Config{RoomRetention: time.Hour, Logger: slog.New(errs)}, 0)
	b := startNode(t, ns, Config{}, 0)
	ann := a.join(t, "Ann", "r")
	bob := b.join(t, "Bob", "r")
	ann.expect(kJoin, "Bob joined the room")
	ann.say("kept")
	// Ann's join notice may still have been on its way through the broker
	// when Bob joined (notices are not history): Bob may get it first.
	if m := bob.next(); m.GetKind() != kJoin || m.GetMessage() != "Ann joined the room" {
		if m.GetKind() != kText || m.GetMessage() != "kept" {
			t.Fatalf("Bob got %s %q, want Ann's text", m.GetKind(), m.GetMessage())
		}
	} else {
		bob.expectText("Ann", "kept")
	}
	ann.leave()
	bob.expect(kLeave, "Ann left the room")
	now := time.Now()
	if n := a.svc.ExpireIdleRooms(now.Add(2 * time.Hour)); n != 0 {
		t.Fatalf("expired %d rooms in use on another node", n)
	}
	if n := a.svc.ExpireIdleRooms(now.Add(2*time.Hour + 30*time.Minute)); n != 0 {
		t.Fatalf("expired %d rooms half a retention after they were found in use", n)
	}
	select {
	case msg := <-errs.errors:
		t.Fatalf("logged an error: %s", msg)
	default:
	}
	carol := b.join(t, "Carol", "r")
	carol.expect(kStart, "")
	carol.expectText("Ann", "kept")
}

// nextAfterJoinOf returns c's next message, past the join notice of name:
// a member joining on another node just after name did may get it (it was
// on its way through the broker, and notices are not history).
func (c *client) nextAfterJoinOf(name string) *chatpb.ChatMessage {
	c.t.Helper()
	m := c.next()
	if m.GetKind() == kJoin && m.GetMessage() == name+" joined the room" {
		m = c.next()
	}
	return m
}
