package app

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

func TestTwoNodesShareARoom(t *testing.T) {
	first := start(t, testConfig(t, "-nats-addr", "127.0.0.1:0"))
	if first.NATSAddr() == nil {
		t.Fatal("the embedded NATS server accepts no nodes")
	}
	second := start(t, testConfig(t, "-nats-url", "nats://"+first.NATSAddr().String()))
	alice, _ := join(t, dial(t, first.Addr().String(), nil), chatwire.UserKey, "Alice")
	bob, w := join(t, dial(t, second.Addr().String(), nil), chatwire.UserKey, "alice")
	if w.GetMessage() != "Welcome, alice(2)! You are in room general." {
		t.Fatalf("welcome on the second node: %q", w.GetMessage())
	}
	if m := recv(t, alice); m.GetMessage() != "alice(2) joined the room" {
		t.Fatalf("first node got %q", m.GetMessage())
	}
	if err := bob.Send(&chatpb.ChatMessage{Message: "across"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, alice); m.GetMessage() != "across" || m.GetUser() != "alice(2)" || m.GetSeq() != 1 {
		t.Fatalf("first node got %v", m)
	}
}

// natsOn starts a NATS server with JetStream on port (0: any), storing
// under dir.
func natsOn(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(wait) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// healthIs waits until the chat service's health is want.
func healthIs(t *testing.T, w healthpb.Health_WatchClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for {
		resp, err := w.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if resp.GetStatus() == want {
			return
		}
	}
}

// natsNode is a chat server on a NATS server of its own, on a TCP port, so
// that the test can stop NATS and start it again.
type natsNode struct {
	ns     *server.Server
	port   int
	dir    string // NATS's store
	node   running
	cc     *grpc.ClientConn
	health healthpb.Health_WatchClient // the chat service's health, SERVING already
}

// nodeOnNATS starts a NATS server and a chat server on it, and waits until
// the chat service says SERVING.
func nodeOnNATS(t *testing.T) natsNode {
	t.Helper()
	n := natsNode{dir: t.TempDir()}
	n.ns = natsOn(t, stablePort(t), n.dir)
	n.port = n.ns.Addr().(*net.TCPAddr).Port
	n.node = start(t, testConfig(t, "-nats-url", "nats://127.0.0.1:"+strconv.Itoa(n.port)))
	n.cc = dial(t, n.node.Addr().String(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	t.Cleanup(cancel)
	var err error
	n.health, err = healthpb.NewHealthClient(n.cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: "chat.ChatService"})
	if err != nil {
		t.Fatal(err)
	}
	healthIs(t, n.health, healthpb.HealthCheckResponse_SERVING)
	return n
}

func TestBrokerLossIsNotServingAndRecovers(t *testing.T) {
	n := nodeOnNATS(t)
	ns, port, dir, node, cc, w := n.ns, n.port, n.dir, n.node, n.cc, n.health

	ns.Shutdown()
	ns.WaitForShutdown()
	healthIs(t, w, healthpb.HealthCheckResponse_NOT_SERVING)
	if !hasMetric(t, node, "polychat_broker_connected 0") {
		t.Error("/metrics does not say NATS is unreachable")
	}
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(metadata.AppendToOutgoingContext(context.Background(), chatwire.UserKey, "Ann"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Recv()
	if status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "broker is unreachable") {
		t.Fatalf("a stream without NATS: %v, want UNAVAILABLE saying the broker is unreachable", err)
	}

	// NATS comes back on the same port with its store: the node serves
	// again by itself.
	natsOn(t, port, dir)
	healthIs(t, w, healthpb.HealthCheckResponse_SERVING)
	if _, welcome := join(t, cc, chatwire.UserKey, "Ann"); welcome.GetMessage() != "Welcome, Ann! You are in room general." {
		t.Fatalf("after NATS came back: %q", welcome.GetMessage())
	}
	if !hasMetric(t, node, "polychat_broker_connected 1") {
		t.Error("/metrics does not say NATS is back")
	}
}

// A text NATS could not take ends its sender's stream with UNAVAILABLE;
// sent again with the same client_msg_id once NATS is back, it goes out,
// once.
func TestTextRefusedWithoutNATSGoesOutWhenSentAgain(t *testing.T) {
	n := nodeOnNATS(t)
	ns, port, dir, cc, w := n.ns, n.port, n.dir, n.cc, n.health
	bob, _ := join(t, cc, chatwire.UserKey, "Bob")
	alice, welcome := join(t, cc, chatwire.UserKey, "Alice")
	if m := recv(t, bob); m.GetMessage() != "Alice joined the room" {
		t.Fatalf("Bob got %q", m.GetMessage())
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	healthIs(t, w, healthpb.HealthCheckResponse_NOT_SERVING)
	line := &chatpb.ChatMessage{Message: "said while NATS was down", ClientMsgId: "line-1"}
	if err := alice.Send(line); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("Alice's stream ended with %v, want UNAVAILABLE", err)
	}

	natsOn(t, port, dir)
	healthIs(t, w, healthpb.HealthCheckResponse_SERVING)
	back, w2 := join(t, cc, chatwire.UserKey, "Alice", chatwire.ResumeTokenKey, welcome.GetResumeToken())
	if !w2.GetResumed() {
		t.Fatalf("Alice did not resume: %v", w2)
	}
	for _, m := range []*chatpb.ChatMessage{line, {Message: "after", ClientMsgId: "line-2"}} {
		if err := back.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if m := recv(t, bob); m.GetMessage() != line.GetMessage() || m.GetClientMsgId() != "line-1" {
		t.Fatalf("Bob got %v, want the line sent again", m)
	}
	if m := recv(t, bob); m.GetMessage() != "after" {
		t.Fatalf("Bob got %v, want the next line", m)
	}
}

// stablePort returns a free loopback port below Linux's ephemeral range
// (32768-60999), for a NATS server the test stops and starts again on it: a
// port of that range may be taken meanwhile as the local port of an
// outgoing connection, even the chat server's own reconnect to that very
// port (TCP connects a socket to itself), and the restart cannot bind it.
func stablePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return port
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}
