package command

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
	"github.com/polychat/polychat/internal/cli/clitest"
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
func serve(t *testing.T, f chatpb.ChatServiceServer, opts ...grpc.ServerOption) string {
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
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut,
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
	code, _, stderr := runCmd(t, "", nil, "-no-reconnect", "-server", addr)
	if code != 1 || stderr != "disconnected: too slow\n" {
		t.Errorf("exit %d, stderr %q; want 1 and the status line", code, stderr)
	}
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(t, "", nil, "a", "b", "c", "d"); code != 2 || !strings.HasPrefix(stderr, "error: too many arguments") {
		t.Errorf("too many arguments: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", nil, "-nope"); code != 2 || stderr != "error: flag provided but not defined: -nope (see -h)\n" {
		t.Errorf("unknown flag: exit %d, stderr %q; want 2 and one line", code, stderr)
	}
	code, _, stderr := runCmd(t, "", nil, "-h")
	if code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	for _, want := range []string{"-name", "-room", "-server", "CHAT_SERVER", "localhost:50053", "general", "flag wins",
		"-ca", "POLYCHAT_TLS_CA", "-cert", "POLYCHAT_TLS_CLIENT_CERT", "-key", "POLYCHAT_TLS_CLIENT_KEY", "-tls",
		"-login", "-token", "CHAT_TOKEN",
		"-no-reconnect", "CHAT_NO_RECONNECT", "-reconnect-max-delay", "CHAT_RECONNECT_MAX_DELAY", "reconnects by itself", "-auth-server", "AUTH_SERVER", "localhost:50054", "flags may come before, between or after", "skipping those a\nflag gives"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("-h output lacks %q", want)
		}
	}
}

// Every shape of command line the README and -h show, with flags and
// arguments in any order, reads as a person means it.
func TestInvocationShapes(t *testing.T) {
	env := map[string]string{"CHAT_SERVER": "env:1"}
	for _, tc := range []struct {
		args                      []string
		name, room, server        string
		login                     bool
		ca, cert, key, authServer string
	}{
		{nil, "", "", "env:1", false, "", "", "", ""},
		{[]string{"Alice"}, "Alice", "", "env:1", false, "", "", "", ""},
		{[]string{"Alice", "lobby"}, "Alice", "lobby", "env:1", false, "", "", "", ""},
		{[]string{"Alice", "lobby", "h:1"}, "Alice", "lobby", "h:1", false, "", "", "", ""},
		{[]string{"Alice", "general", "-server", "h:1"}, "Alice", "general", "h:1", false, "", "", "", ""},
		{[]string{"-server", "h:1", "Alice", "general"}, "Alice", "general", "h:1", false, "", "", "", ""},
		{[]string{"Alice", "-server", "h:1", "general"}, "Alice", "general", "h:1", false, "", "", "", ""},
		{[]string{"-name", "Alice", "general"}, "Alice", "general", "env:1", false, "", "", "", ""},
		{[]string{"general", "-name", "Alice"}, "Alice", "general", "env:1", false, "", "", "", ""},
		{[]string{"-name", "Alice", "-room", "lobby", "h:1"}, "Alice", "lobby", "h:1", false, "", "", "", ""},
		{[]string{"-room", "lobby", "Alice"}, "Alice", "lobby", "env:1", false, "", "", "", ""},
		{[]string{"-name=Alice", "-room=lobby", "-server=h:1"}, "Alice", "lobby", "h:1", false, "", "", "", ""},
		{[]string{"-login", "user1"}, "user1", "", "env:1", true, "", "", "", ""},
		{[]string{"-login", "user1", "general"}, "user1", "general", "env:1", true, "", "", "", ""},
		{[]string{"-login", "user1", "-server", "h:1"}, "user1", "", "h:1", true, "", "", "", ""},
		{[]string{"user1", "-login", "general", "h:1", "-auth-server", "a:1"}, "user1", "general", "h:1", true, "", "", "", "a:1"},
		{[]string{"--login", "user1", "general", "h:1"}, "user1", "general", "h:1", true, "", "", "", ""},
		{[]string{"-ca", "ca.pem", "-cert", "c.pem", "-key", "k.pem", "Alice"}, "Alice", "", "env:1", false, "ca.pem", "c.pem", "k.pem", ""},
		{[]string{"Alice", "-ca", "ca.pem", "-cert", "c.pem", "-key", "k.pem"}, "Alice", "", "env:1", false, "ca.pem", "c.pem", "k.pem", ""},
		{[]string{"-name", "Bob", "-server", "h:1", "Alice", "lobby", "h:2"}, "Bob", "lobby", "h:1", false, "", "", "", ""},
		{[]string{"--", "-Alice"}, "-Alice", "", "env:1", false, "", "", "", ""},
	} {
		var stderr strings.Builder
		opts, code, ok := parseArgs(tc.args, func(k string) string { return env[k] }, &stderr)
		if !ok {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, stderr.String())
			continue
		}
		c := opts.chat
		if c.Name != tc.name || c.Room != tc.room || c.Server != tc.server || opts.login != tc.login ||
			opts.tls.CAFile != tc.ca || opts.tls.CertFile != tc.cert || opts.tls.KeyFile != tc.key || opts.authServer != tc.authServer {
			t.Errorf("%q: got name %q room %q server %q login %v tls %+v auth %q", tc.args, c.Name, c.Room, c.Server, opts.login, opts.tls, opts.authServer)
		}
	}
}

// The shape that used to fail, end to end: flags after the name.
func TestLoginShapeEndToEnd(t *testing.T) {
	authAddr, auth := serveAuth(t)
	chat := &fakeChat{got: make(chan string, 10), auth: make(chan string, 1)}
	addr := serve(t, chat)
	code, stdout, stderr := runCmd(t, "secret\nhello\n", nil, "-login", "Alice", "-server", addr, "-auth-server", authAddr)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "Welcome, Alice! You are in room general.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := <-chat.auth; got != "Bearer tok-alice" {
		t.Errorf("authorization = %q", got)
	}
	if got := <-auth.logouts; got != "tok-alice" {
		t.Errorf("logout of %q", got)
	}
}

// Every bad flag, argument or environment value is one line on stderr and
// exit status 2.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-nope"}, nil, "-nope"},
		{[]string{"Alice", "-nope"}, nil, "-nope"},
		{[]string{"-tls=maybe"}, nil, "-tls"},
		{[]string{"-login=maybe"}, nil, "-login"},
		{[]string{"Alice", "-server"}, nil, "-server"},
		{[]string{"a", "b", "c", "d"}, nil, "too many arguments"},
		{[]string{"-name", "A", "-room", "r", "-server", "s", "x"}, nil, "too many arguments"},
		{[]string{"-login", "-token", "x", "Alice"}, nil, "not both"},
		{[]string{"-cert", "c.pem"}, nil, "-cert and -key"},
		{[]string{"-key", "k.pem", "Alice"}, nil, "-cert and -key"},
		{nil, map[string]string{"POLYCHAT_TLS_CLIENT_CERT": "c.pem"}, "POLYCHAT_TLS_CLIENT_KEY"},
		{nil, map[string]string{"POLYCHAT_TLS_CLIENT_KEY": "k.pem"}, "POLYCHAT_TLS_CLIENT_CERT"},
		{[]string{"-reconnect-max-delay", "0"}, nil, "-reconnect-max-delay"},
		{[]string{"-reconnect-max-delay", "soon"}, nil, "-reconnect-max-delay"},
		{nil, map[string]string{"CHAT_RECONNECT_MAX_DELAY": "-5s"}, "CHAT_RECONNECT_MAX_DELAY"},
		{nil, map[string]string{"CHAT_NO_RECONNECT": "maybe"}, "CHAT_NO_RECONNECT"},
		{[]string{"-no-reconnect=maybe"}, nil, "-no-reconnect"},
	} {
		code, stdout, stderr := runCmd(t, "", tc.env, tc.args...)
		clitest.WantUsageError(t, tc, code, stderr, "error: ", tc.want)
		if stdout != "" {
			t.Errorf("%v: stdout %q", tc, stdout)
		}
	}
}
