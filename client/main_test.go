package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

type chatStream = grpc.BidiStreamingServer[chatpb.ChatMessage, chatpb.ChatMessage]

// fakeChat greets each stream with a welcome naming the requested user and
// room, records the text it receives, and ends the stream with endWith once
// the client closes its side (or at once, when endAtOnce is set).
type fakeChat struct {
	chatpb.UnimplementedChatServiceServer
	endAtOnce bool
	endWith   error
	got       chan string
	// auth, when set, receives each stream's authorization metadata.
	auth chan string
}

func (f *fakeChat) ChatStream(stream chatStream) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	if f.auth != nil {
		f.auth <- first(md.Get("authorization"))
	}
	user, room := first(md.Get("chat-user")), first(md.Get("chat-room"))
	welcome := &chatpb.ChatMessage{User: "system", Message: "Welcome, " + user + "! You are in room " + room + ".",
		Room: room, Kind: chatpb.ChatMessage_KIND_SYSTEM}
	if err := stream.Send(welcome); err != nil {
		return err
	}
	if f.endAtOnce {
		return f.endWith
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return f.endWith
		}
		if err != nil {
			return err
		}
		if msg.GetKind() == chatpb.ChatMessage_KIND_LEAVE {
			return f.endWith // the server ends a leaving member's stream
		}
		f.got <- msg.GetUser() + ": " + msg.GetMessage()
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// serve starts f on a loopback TCP port and returns its address.
func serve(t *testing.T, f *fakeChat, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	chatpb.RegisterChatServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut,
		func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestPipeSession(t *testing.T) {
	f := &fakeChat{got: make(chan string, 10)}
	addr := serve(t, f)
	code, stdout, stderr := runCmd(t, "hi\n\n/quit\n", nil, "Alice", "lobby", addr)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
	if !strings.HasSuffix(stdout, "] *** Welcome, Alice! You are in room lobby.\n") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("stdout = %q, want the welcome line only", stdout)
	}
	if got := <-f.got; got != "Alice: hi" {
		t.Errorf("server got %q, want %q", got, "Alice: hi")
	}
}

func TestFlagsWinOverPositionals(t *testing.T) {
	f := &fakeChat{got: make(chan string, 10)}
	addr := serve(t, f)
	code, stdout, stderr := runCmd(t, "", map[string]string{"CHAT_SERVER": "127.0.0.1:1"},
		"-name", "Bob", "-server", addr, "Alice", "lobby", "127.0.0.1:2")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "Welcome, Bob! You are in room lobby.") {
		t.Errorf("stdout = %q, want Bob in lobby", stdout)
	}
}

func TestServerFromEnvironment(t *testing.T) {
	addr := serve(t, &fakeChat{got: make(chan string, 10)})
	code, stdout, stderr := runCmd(t, "", map[string]string{"CHAT_SERVER": addr})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "Welcome, ! You are in room general.") {
		t.Errorf("stdout = %q, want no name and room general", stdout)
	}
}

func TestUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	code, stdout, stderr := runCmd(t, "hi\n", nil, "Alice", "general", addr)
	if want := "error: cannot reach chat server at " + addr + ": connection refused\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
}

func TestDisconnected(t *testing.T) {
	addr := serve(t, &fakeChat{endAtOnce: true, endWith: status.Error(codes.ResourceExhausted, "too slow")})
	code, _, stderr := runCmd(t, "", nil, "-server", addr)
	if code != 1 || stderr != "disconnected: too slow\n" {
		t.Errorf("exit %d, stderr %q; want 1 and the status line", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(t, "", nil, "a", "b", "c", "d"); code != 2 || !strings.HasPrefix(stderr, "error: too many arguments") {
		t.Errorf("too many arguments: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", nil, "-nope"); code != 2 || !strings.Contains(stderr, "Usage:") {
		t.Errorf("unknown flag: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr := runCmd(t, "", nil, "-h")
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, want := range []string{"-name", "-room", "-server", "CHAT_SERVER", "localhost:50053", "general", "flag wins",
		"-ca", "POLYCHAT_TLS_CA", "-cert", "POLYCHAT_TLS_CLIENT_CERT", "-key", "POLYCHAT_TLS_CLIENT_KEY", "-tls",
		"-login", "-token", "CHAT_TOKEN", "-auth-server", "AUTH_SERVER", "localhost:50054"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-h output lacks %q", want)
		}
	}
}
