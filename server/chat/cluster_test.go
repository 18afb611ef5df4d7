package chat

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

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

// startNode starts a chat node on ns with cfg (Cluster and History set
// here).
func startNode(t *testing.T, ns *server.Server, cfg Config, ttl time.Duration) *node {
	t.Helper()
	b, err := broker.Open(context.Background(), broker.Options{
		Server: ns, History: 50, NodeTTL: ttl, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cfg.Cluster, cfg.History = b, 50
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
	var fromA, fromB []string
	for range 20 {
		fromA = append(fromA, b.expect(kText, "").GetMessage())
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
	b.expect(kJoin, "Carol joined the room")
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
	first := alice.expectText("Bob", "one")
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
