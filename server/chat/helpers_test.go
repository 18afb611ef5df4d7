package chat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
)

// wait bounds every wait for an event; tests never sleep.
const wait = 15 * time.Second

// testServer is a Service served over an in-memory connection.
type testServer struct {
	svc *Service
	srv *grpc.Server
	lis *bufconn.Listener
}

// startServer serves a new Service with cfg; extra options go to the server.
func startServer(t *testing.T, cfg Config, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	return startServerCodec(t, cfg, true, opts...)
}

// openBroker opens a broker with opts (a NATS server of its own unless
// opts.Server is set), closed when the test ends.
func openBroker(t testing.TB, opts broker.Options) *broker.Broker {
	t.Helper()
	if opts.Server == nil {
		opts.Server = brokertest.Server(t)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := broker.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// startServerCodec is startServer, with or without CodecOption. Without
// cfg.Broker, the Service gets a broker on a NATS server of its own,
// keeping cfg.History texts per room (chatwire.HistorySize when 0).
func startServerCodec(t *testing.T, cfg Config, withCodec bool, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.History == 0 {
		cfg.History = chatwire.HistorySize
	}
	if cfg.Broker == nil {
		cfg.Broker = openBroker(t, broker.Options{History: cfg.History})
	}
	ts := &testServer{svc: New(cfg), lis: bufconn.Listen(1 << 20)}
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(64 << 10)}, opts...)
	if withCodec {
		opts = append(opts, CodecOption())
	}
	ts.srv = grpc.NewServer(opts...)
	chatpb.RegisterChatServiceServer(ts.srv, ts.svc)
	go ts.srv.Serve(ts.lis)
	t.Cleanup(ts.srv.Stop)
	return ts
}

// conn dials the server.
func (ts *testServer) conn(t *testing.T, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ts.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// open starts a stream with the given metadata pairs (key, value, ...).
func (ts *testServer) open(t *testing.T, cc *grpc.ClientConn, md ...string) chatpb.ChatService_ChatStreamClient {
	t.Helper()
	if cc == nil {
		cc = ts.conn(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// client reads its stream on a goroutine so tests can wait for messages.
type client struct {
	t      *testing.T
	stream chatpb.ChatService_ChatStreamClient
	msgs   chan *chatpb.ChatMessage
	done   chan struct{}
	err    error // the stream's final error, once done is closed
}

// join opens a stream as user in room ("" leaves the metadata out) and
// returns once the welcome has arrived.
func (ts *testServer) join(t *testing.T, user, room string) *client {
	t.Helper()
	var md []string
	if user != "" {
		md = append(md, chatwire.UserKey, user)
	}
	if room != "" {
		md = append(md, chatwire.RoomKey, room)
	}
	c := newClient(t, ts.open(t, nil, md...))
	c.expect(chatpb.ChatMessage_KIND_SYSTEM, "")
	return c
}

func newClient(t *testing.T, st chatpb.ChatService_ChatStreamClient) *client {
	c := receive(t, st)
	c.stream = st
	return c
}

// receive returns a client reading st, which it cannot send on.
func receive(t *testing.T, st interface {
	Recv() (*chatpb.ChatMessage, error)
}) *client {
	c := &client{t: t, msgs: make(chan *chatpb.ChatMessage, 10000), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := st.Recv()
			if err != nil {
				c.err = err
				return
			}
			c.msgs <- m
		}
	}()
	return c
}

// next returns the next message, failing the test if none comes in time.
func (c *client) next() *chatpb.ChatMessage {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatalf("stream ended while waiting for a message: %v", c.err)
	case <-time.After(wait):
		c.t.Fatal("no message in time")
	}
	return nil
}

// expect checks the next message's kind and (unless empty) text.
func (c *client) expect(kind chatpb.ChatMessage_Kind, text string) *chatpb.ChatMessage {
	c.t.Helper()
	m := c.next()
	if m.GetKind() != kind || (text != "" && m.GetMessage() != text) {
		c.t.Fatalf("got %s %q from %q, want %s %q", m.GetKind(), m.GetMessage(), m.GetUser(), kind, text)
	}
	return m
}

// expectText checks the next message is text from user.
func (c *client) expectText(user, text string) *chatpb.ChatMessage {
	c.t.Helper()
	m := c.expect(chatpb.ChatMessage_KIND_TEXT, text)
	if m.GetUser() != user {
		c.t.Fatalf("text %q came from %q, want %q", text, m.GetUser(), user)
	}
	return m
}

// say sends text.
func (c *client) say(text string) {
	c.t.Helper()
	if err := c.stream.Send(&chatpb.ChatMessage{Message: text}); err != nil {
		c.t.Fatal(err)
	}
}

// end waits for the stream to end and returns its error (io.EOF means OK).
func (c *client) end() error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(wait):
		c.t.Fatal("stream did not end in time")
	}
	return nil
}

// recvUntilErr reads a stream until it fails and returns the error.
func recvUntilErr(t *testing.T, st grpc.ClientStream) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			var m chatpb.ChatMessage
			if err := st.RecvMsg(&m); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err := <-errc:
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	case <-time.After(wait):
		t.Fatal("stream did not end in time")
	}
	return nil
}

// code is status.Code, spelled for brevity.
var code = status.Code
