package chatclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// failAfter bounds every wait in these tests, so a bug fails a test instead
// of hanging it. It is never used to let something happen.
const failAfter = 10 * time.Second

type chatStream = grpc.BidiStreamingServer[chatpb.ChatMessage, chatpb.ChatMessage]

// fakeServer is a ChatService whose behaviour each test supplies.
type fakeServer struct {
	chatpb.UnimplementedChatServiceServer
	handle func(stream chatStream) error
}

func (f *fakeServer) ChatStream(stream chatStream) error { return f.handle(stream) }

// startFake serves handle over bufconn and returns a Config that dials it.
func startFake(t *testing.T, handle func(stream chatStream) error) (Config, *grpc.Server) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	chatpb.RegisterChatServiceServer(srv, &fakeServer{handle: handle})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return Config{
		Server: "passthrough:///bufnet",
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return lis.DialContext(ctx)
			}),
		},
	}, srv
}

// notice builds a server message.
func notice(kind chatpb.ChatMessage_Kind, text string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{User: "system", Message: text, Timestamp: 1700000000, Room: "general", Kind: kind, Id: 1}
}

// lineOutput is an output for Run whose lines a test reads one at a time.
type lineOutput struct {
	w     *io.PipeWriter
	lines chan string
}

func newLineOutput(t *testing.T) *lineOutput {
	t.Helper()
	r, w := io.Pipe()
	o := &lineOutput{w: w, lines: make(chan string, 100)}
	go func() {
		defer close(o.lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			o.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = w.Close() })
	return o
}

func (o *lineOutput) Write(p []byte) (int, error) { return o.w.Write(p) }

// next returns the next output line.
func (o *lineOutput) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-o.lines:
		if !ok {
			t.Fatal("output ended, want another line")
		}
		return line
	case <-time.After(failAfter):
		t.Fatal("no output line")
	}
	return ""
}

// rest closes the output and returns the lines not read yet.
func (o *lineOutput) rest() []string {
	_ = o.w.Close()
	var lines []string
	for line := range o.lines {
		lines = append(lines, line)
	}
	return lines
}

// runAsync starts Run and returns a channel with its result.
func runAsync(ctx context.Context, cfg Config, in LineReader, out io.Writer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, in, out) }()
	return done
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// recorder is a fake server that sends greeting, then records what the
// client sends until the client closes its side, then sends bye and ends the
// stream with OK.
type recorder struct {
	md       chan metadata.MD
	received chan *chatpb.ChatMessage
	closed   chan struct{}
	greeting []*chatpb.ChatMessage
}

func newRecorder(greeting ...*chatpb.ChatMessage) *recorder {
	return &recorder{
		md:       make(chan metadata.MD, 1),
		received: make(chan *chatpb.ChatMessage, 100),
		closed:   make(chan struct{}),
		greeting: greeting,
	}
}

func (r *recorder) handle(stream chatStream) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	r.md <- md
	for _, m := range r.greeting {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	defer close(r.closed)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if msg.GetKind() == chatpb.ChatMessage_KIND_LEAVE {
			return nil // the server ends a leaving member's stream
		}
		r.received <- msg
	}
}

func TestRunSendsMetadataAndTextAndPrintsLines(t *testing.T) {
	rec := newRecorder(
		notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome, Alice! You are in room general."),
		notice(chatpb.ChatMessage_KIND_HISTORY_START, "--- Recent messages in general ---"),
		&chatpb.ChatMessage{User: "Bob", Message: "earlier\x1b[2J", Timestamp: 1700000000, Room: "general", Kind: chatpb.ChatMessage_KIND_TEXT},
		notice(chatpb.ChatMessage_KIND_HISTORY_END, "--- End of history ---"),
		notice(chatpb.ChatMessage_KIND_JOIN, "Carol joined the room"),
	)
	cfg, _ := startFake(t, rec.handle)
	cfg.Name = "Alice"
	cfg.Room = "general"

	inR, inW := io.Pipe()
	defer inW.Close()
	out := newLineOutput(t)
	before := time.Now().Unix()
	done := runAsync(context.Background(), cfg, NewLineReader(inR), out)

	md := wait(t, rec.md, "metadata")
	if got := md.Get(chatwire.UserKey); len(got) != 1 || got[0] != "Alice" {
		t.Errorf("metadata %s = %q, want [Alice]", chatwire.UserKey, got)
	}
	if got := md.Get(chatwire.RoomKey); len(got) != 1 || got[0] != "general" {
		t.Errorf("metadata %s = %q, want [general]", chatwire.RoomKey, got)
	}

	clock := time.Unix(1700000000, 0).Local().Format("15:04:05")
	for _, want := range []string{
		"[" + clock + "] *** Welcome, Alice! You are in room general.",
		"--- Recent messages in general ---",
		`[Bob]: earlier\x1b[2J`,
		"--- End of history ---",
		"[" + clock + "] >>> Carol joined the room",
	} {
		if got := out.next(t); got != want {
			t.Errorf("output line = %q, want %q", got, want)
		}
	}

	// Empty and blank lines are not sent; CRLF input is accepted.
	if _, err := io.WriteString(inW, "\n   \nhello there\r\n"); err != nil {
		t.Fatal(err)
	}
	msg := wait(t, rec.received, "the sent message")
	if msg.GetMessage() != "hello there" || msg.GetUser() != "Alice" || msg.GetRoom() != "general" ||
		msg.GetKind() != chatpb.ChatMessage_KIND_TEXT {
		t.Errorf("sent %v, want text %q from Alice in general", msg, "hello there")
	}
	if ts := msg.GetTimestamp(); ts < before || ts > time.Now().Unix() {
		t.Errorf("timestamp = %d, want now (%d..)", ts, before)
	}
	if sent := msg.GetClientSentAt(); sent == nil || sent.AsTime().Unix() != msg.GetTimestamp() {
		t.Errorf("client_sent_at = %v, want the send time", sent)
	}

	if _, err := io.WriteString(inW, "/quit\n"); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v, want nil after /quit", err)
	}
	wait(t, rec.closed, "the server to see the client leave")
	if n := len(rec.received); n != 0 {
		t.Errorf("server received %d more messages, want 0 (no blank lines, no /quit)", n)
	}
	if rest := out.rest(); len(rest) != 0 {
		t.Errorf("unexpected output %q", rest)
	}
}

func TestRunLeavesOnQuitCommands(t *testing.T) {
	for _, cmd := range []string{"/quit", "/exit", "/q", "  /q  "} {
		t.Run(cmd, func(t *testing.T) {
			rec := newRecorder()
			cfg, _ := startFake(t, rec.handle)
			in := NewLineReader(strings.NewReader("hi\n" + cmd + "\nnot sent\n"))
			if err := Run(context.Background(), cfg, in, io.Discard); err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			wait(t, rec.closed, "the server to see the client leave")
			if got := (<-rec.received).GetMessage(); got != "hi" {
				t.Errorf("sent %q, want %q", got, "hi")
			}
			if n := len(rec.received); n != 0 {
				t.Errorf("server received %d messages after %s, want 0", n, cmd)
			}
		})
	}
}

func TestRunLeavesAtEndOfInput(t *testing.T) {
	rec := newRecorder(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome"))
	cfg, _ := startFake(t, rec.handle)
	out := newLineOutput(t)
	// The last line has no line ending; it is still sent.
	done := runAsync(context.Background(), cfg, NewLineReader(strings.NewReader("one\ntwo")), out)
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v, want nil at end of input", err)
	}
	md := <-rec.md
	if got := md.Get(chatwire.UserKey); len(got) != 0 {
		t.Errorf("metadata %s = %q, want none without a name", chatwire.UserKey, got)
	}
	var got []string
	for len(rec.received) > 0 {
		m := <-rec.received
		if m.GetUser() != "" {
			t.Errorf("user = %q, want empty without a name", m.GetUser())
		}
		got = append(got, m.GetMessage())
	}
	if strings.Join(got, "|") != "one|two" {
		t.Errorf("sent %q, want [one two]", got)
	}
	if rest := out.rest(); len(rest) != 1 || !strings.HasSuffix(rest[0], "*** Welcome") {
		t.Errorf("output %q, want the welcome line", rest)
	}
}

func TestRunNonASCIINameGoesInUserField(t *testing.T) {
	rec := newRecorder()
	cfg, _ := startFake(t, rec.handle)
	cfg.Name = " Zoë "
	if err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("salut\n")), io.Discard); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if got := (<-rec.md).Get(chatwire.UserKey); len(got) != 0 {
		t.Errorf("metadata %s = %q, want none for a non-ASCII name", chatwire.UserKey, got)
	}
	if m := <-rec.received; m.GetUser() != "Zoë" || m.GetMessage() != "salut" {
		t.Errorf("sent %v, want salut from Zoë", m)
	}
}

func TestRunLeavesOnContextCancel(t *testing.T) {
	rec := newRecorder(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome"))
	cfg, _ := startFake(t, rec.handle)
	inR, inW := io.Pipe()
	defer inW.Close()
	out := newLineOutput(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(ctx, cfg, NewLineReader(inR), out)
	out.next(t) // connected
	cancel()    // as Ctrl+C does
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v, want nil after cancel", err)
	}
	// The server saw a half-close (a clean leave), not a cancelled stream.
	wait(t, rec.closed, "the server to see the client leave")
}

func TestRunLeaveIsBounded(t *testing.T) {
	// A server that never ends the stream: leaving must not hang.
	release := make(chan struct{})
	defer close(release)
	cfg, _ := startFake(t, func(stream chatStream) error {
		if err := stream.Send(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome")); err != nil {
			return err
		}
		for {
			if _, err := stream.Recv(); err != nil {
				break
			}
		}
		select {
		case <-release:
		case <-stream.Context().Done():
		}
		return nil
	})
	cfg.LeaveTimeout = 50 * time.Millisecond
	inR, inW := io.Pipe()
	out := newLineOutput(t)
	done := runAsync(context.Background(), cfg, NewLineReader(inR), out)
	out.next(t) // connected
	_ = inW.Close()
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
}

func TestRunServerEndsStream(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantMsg string
	}{
		{"resource exhausted", status.Error(codes.ResourceExhausted, "you are too slow: outbound queue full"),
			"disconnected: you are too slow: outbound queue full"},
		{"invalid argument", status.Error(codes.InvalidArgument, "message is over 4096 bytes"),
			"disconnected: message is over 4096 bytes"},
		{"status with control characters", status.Error(codes.PermissionDenied, "no\nway\x1b[0m"),
			`disconnected: no\x0away\x1b[0m`},
		{"status without message", status.Error(codes.Internal, ""),
			"disconnected: server ended the stream with Internal"},
		{"OK after shutdown notice", nil, "disconnected: server closed the stream"},
		{"unavailable from the server", status.Error(codes.Unavailable, "server is shutting down"),
			"disconnected: server is shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := startFake(t, func(stream chatStream) error {
				if err := stream.Send(notice(chatpb.ChatMessage_KIND_SYSTEM, "Server is shutting down")); err != nil {
					return err
				}
				return tt.err
			})
			inR, inW := io.Pipe() // input that never ends
			defer inW.Close()
			out := newLineOutput(t)
			err := Run(context.Background(), cfg, NewLineReader(inR), out)
			var d *DisconnectedError
			if !errors.As(err, &d) {
				t.Fatalf("Run() = %v (%T), want a *DisconnectedError", err, err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err.Error(), tt.wantMsg)
			}
			if want := status.Code(tt.err); status.Code(err) != want {
				t.Errorf("code = %v, want %v", status.Code(err), want)
			}
			if rest := out.rest(); len(rest) != 1 || !strings.HasSuffix(rest[0], "*** Server is shutting down") {
				t.Errorf("output %q, want the notice", rest)
			}
		})
	}
}

func TestRunServerRejectsMessage(t *testing.T) {
	// The server ends the stream when it receives a message it rejects; the
	// client reports that status, not a send error.
	cfg, _ := startFake(t, func(stream chatStream) error {
		if _, err := stream.Recv(); err != nil {
			return err
		}
		return status.Error(codes.InvalidArgument, "message is over 4096 bytes")
	})
	inR, inW := io.Pipe()
	defer inW.Close()
	done := runAsync(context.Background(), cfg, NewLineReader(inR), io.Discard)
	go func() {
		// Keep sending until the client stops reading input.
		for {
			if _, err := io.WriteString(inW, strings.Repeat("x", 5000)+"\n"); err != nil {
				return
			}
		}
	}()
	err := wait(t, done, "Run to return")
	if got, want := status.Code(err), codes.InvalidArgument; got != want || err.Error() != "disconnected: message is over 4096 bytes" {
		t.Errorf("Run() = %v (code %v), want disconnected with %v", err, got, want)
	}
	_ = inW.CloseWithError(errors.New("test over"))
}

func TestRunUnreachable(t *testing.T) {
	cfg := Config{
		Server: "passthrough:///nowhere:50053",
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
				return nil, errors.New("dial tcp 127.0.0.1:50053: connect: connection refused")
			}),
		},
	}
	err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("hi\n")), io.Discard)
	var se *ServerError
	if !errors.As(err, &se) || se.Lost {
		t.Fatalf("Run() = %v (%T), want a *ServerError, not Lost", err, err)
	}
	if want := "cannot reach chat server at passthrough:///nowhere:50053: connection refused"; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
}

func TestRunConnectTimeout(t *testing.T) {
	// A dialer that never answers: opening the stream must give up.
	cfg := Config{
		Server:         "passthrough:///blackhole",
		ConnectTimeout: 50 * time.Millisecond,
		DialOptions: []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}),
		},
	}
	err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("")), io.Discard)
	if want := "cannot reach chat server at passthrough:///blackhole: no answer within 50ms"; err == nil || err.Error() != want {
		t.Errorf("Run() = %v, want %q", err, want)
	}
}

func TestRunConnectionLost(t *testing.T) {
	welcomed := make(chan struct{})
	cfg, srv := startFake(t, func(stream chatStream) error {
		if err := stream.Send(notice(chatpb.ChatMessage_KIND_SYSTEM, "Welcome")); err != nil {
			return err
		}
		close(welcomed)
		<-stream.Context().Done()
		return nil
	})
	inR, inW := io.Pipe()
	defer inW.Close()
	out := newLineOutput(t)
	done := runAsync(context.Background(), cfg, NewLineReader(inR), out)
	out.next(t)
	<-welcomed
	srv.Stop() // closes the connection under the client
	err := wait(t, done, "Run to return")
	var se *ServerError
	if !errors.As(err, &se) || !se.Lost {
		t.Fatalf("Run() = %v (%T), want a lost-connection *ServerError", err, err)
	}
	if want := "lost connection to chat server at passthrough:///bufnet: connection closed"; err.Error() != want {
		t.Errorf("error = %q", err.Error())
	}
}

func TestRunAdoptsServerRoom(t *testing.T) {
	rec := newRecorder(&chatpb.ChatMessage{User: "system", Message: "Welcome", Room: "lobby", Kind: chatpb.ChatMessage_KIND_SYSTEM})
	cfg, _ := startFake(t, rec.handle)
	cfg.Room = "Lobby"
	inR, inW := io.Pipe()
	defer inW.Close()
	out := newLineOutput(t)
	done := runAsync(context.Background(), cfg, NewLineReader(inR), out)
	out.next(t) // the welcome names the room "lobby"
	if _, err := io.WriteString(inW, "hi\n/q\n"); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
	if got := (<-rec.md).Get(chatwire.RoomKey); len(got) != 1 || got[0] != "Lobby" {
		t.Errorf("metadata room = %q, want [Lobby]", got)
	}
	if got := (<-rec.received).GetRoom(); got != "lobby" {
		t.Errorf("room on sent message = %q, want the server's %q", got, "lobby")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Room: "café"}, {Name: "Al\x1bice"}, {Room: "a\tb"}} {
		err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("")), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "invalid ") {
			t.Errorf("Run(%+v) = %v, want an invalid name/room error", cfg, err)
		}
	}
}

func TestLineReader(t *testing.T) {
	r := NewLineReader(strings.NewReader("a\r\nb\n\nlast"))
	var got []string
	for {
		line, err := r.ReadLine()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if want := []string{"a", "b", "", "last"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestIsQuitCommand(t *testing.T) {
	for line, want := range map[string]bool{
		"/quit": true, "/exit": true, "/q": true, " /quit ": true,
		"/QUIT": true, "/quitting": false, "quit": false, "": false, "/q now": false, "//quit": false,
	} {
		if got := IsQuitCommand(line); got != want {
			t.Errorf("IsQuitCommand(%q) = %v, want %v", line, got, want)
		}
	}
}
