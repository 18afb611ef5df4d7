package metrics

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
	"github.com/polychat/polychat/server/chat"
)

const wait = 5 * time.Second

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(body)
}

func hasLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func recv(t *testing.T, st chatpb.ChatService_ChatStreamClient) *chatpb.ChatMessage {
	t.Helper()
	type result struct {
		m   *chatpb.ChatMessage
		err error
	}
	c := make(chan result, 1)
	go func() { m, err := st.Recv(); c <- result{m, err} }()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.m
	case <-time.After(wait):
		t.Fatal("no message in time")
	}
	return nil
}

func TestChatMetricsMove(t *testing.T) {
	m := NewChat()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	web := httptest.NewServer(Handler(reg))
	defer web.Close()

	body := scrape(t, web.URL)
	for _, line := range []string{
		"polychat_chat_connected_clients 0",
		"polychat_chat_rooms 0",
		"polychat_chat_messages_received_total 0",
		`polychat_chat_disconnects_total{code="ResourceExhausted"} 0`,
	} {
		if !hasLine(body, line) {
			t.Fatalf("initial scrape lacks %q:\n%s", line, body)
		}
	}

	b, err := broker.Open(context.Background(), broker.Options{Server: brokertest.Server(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	svc := chat.New(chat.Config{Broker: b, Metrics: m, Logger: slog.New(slog.DiscardHandler)})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(chat.CodecOption())
	chatpb.RegisterChatServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	open := func(user string) (chatpb.ChatService_ChatStreamClient, context.CancelFunc) {
		ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "chat-user", user))
		st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recv(t, st) // welcome
		return st, cancel
	}
	alice, cancelAlice := open("Alice")
	defer cancelAlice()
	bob, cancelBob := open("Bob")
	defer cancelBob()
	recv(t, alice) // Bob joined
	if err := alice.Send(&chatpb.ChatMessage{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, bob); got.GetMessage() != "hi" {
		t.Fatalf("Bob got %q", got.GetMessage())
	}

	if got := testutil.ToFloat64(m.connected); got != 2 {
		t.Errorf("connected clients = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.rooms); got != 1 {
		t.Errorf("rooms = %v, want 1", got)
	}
	body = scrape(t, web.URL)
	for _, line := range []string{
		"polychat_chat_connected_clients 2",
		"polychat_chat_rooms 1",
		"polychat_chat_messages_received_total 1",
		// Welcome x2, "Bob joined" to Alice, "hi" to Bob.
		"polychat_chat_messages_sent_total 4",
	} {
		if !hasLine(body, line) {
			t.Errorf("scrape lacks %q:\n%s", line, body)
		}
	}

	// Bob leaves with KIND_LEAVE: OK; Alice is cancelled: CANCELED.
	if err := bob.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, alice); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Fatalf("Alice got %v, want Bob's leave", m)
	}
	if _, err := bob.Recv(); err != io.EOF {
		t.Fatalf("Bob's stream: %v, want OK", err)
	}
	if got := testutil.ToFloat64(m.byCode[codes.OK]); got != 1 {
		t.Errorf("disconnects{OK} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.connected); got != 1 {
		t.Errorf("connected clients = %v after a leave, want 1", got)
	}
}

func TestConnHooks(t *testing.T) {
	m := NewChat()
	m.ConnOpened()
	m.ConnOpened()
	m.ConnClosed()
	m.ConnRejected()
	if testutil.ToFloat64(m.connsOpen) != 1 || testutil.ToFloat64(m.connsRejected) != 1 {
		t.Fatalf("open %v rejected %v", testutil.ToFloat64(m.connsOpen), testutil.ToFloat64(m.connsRejected))
	}
	m.StreamEnded(codes.Code(99)) // an unknown code still counts
	if n := testutil.CollectAndCount(m.disconnects); n != int(codes.Unauthenticated)+2 {
		t.Fatalf("%d disconnect series", n)
	}
}
