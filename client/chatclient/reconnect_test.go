package chatclient

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// tinyBackoff keeps the tests' reconnection waits short; no test waits for
// it to pass, they wait for what the client does.
var tinyBackoff = backoff.Config{BaseDelay: time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Millisecond}

// network is a bufconn network the test can cut and take down: cut closes
// every connection made so far at the server's end, and while down,
// dialling is refused.
type network struct {
	*bufconn.Listener
	mu    sync.Mutex
	conns []net.Conn // the server's ends
	down  bool
	hang  bool // dialling blocks until the dial is abandoned
}

// Accept is the server's, and records its end of each connection.
func (n *network) Accept() (net.Conn, error) {
	c, err := n.Listener.Accept()
	if err == nil {
		n.mu.Lock()
		n.conns = append(n.conns, c)
		n.mu.Unlock()
	}
	return c, err
}

func (n *network) dial(ctx context.Context, _ string) (net.Conn, error) {
	n.mu.Lock()
	down, hang := n.down, n.hang
	n.mu.Unlock()
	switch {
	case hang:
		<-ctx.Done()
		return nil, ctx.Err()
	case down:
		return nil, errors.New("dial tcp 127.0.0.1:50053: connect: connection refused")
	}
	return n.DialContext(ctx)
}

// cut closes every connection, as a network failure does, and keeps the
// server unreachable until up is called when down is set.
func (n *network) cut(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = down
	for _, c := range n.conns {
		_ = c.Close()
	}
	n.conns = nil
}

func (n *network) set(down, hang bool) {
	n.mu.Lock()
	n.down, n.hang = down, hang
	n.mu.Unlock()
}

// fakeStream is one ChatStream call on the scripted server: the test says
// what the server sends and how the stream ends, and reads what the client
// sent.
type fakeStream struct {
	md   metadata.MD
	got  chan *chatpb.ChatMessage // what the client sent, until it stops
	send chan *chatpb.ChatMessage
	end  chan error
}

// say sends msgs to the client, in order.
func (s *fakeStream) say(msgs ...*chatpb.ChatMessage) {
	for _, m := range msgs {
		s.send <- m
	}
}

// next returns the next message the client sent on this stream.
func (s *fakeStream) next(t *testing.T) *chatpb.ChatMessage {
	t.Helper()
	msg, ok := <-s.got
	if !ok {
		t.Fatal("the client sent nothing more on this stream")
	}
	return msg
}

// scripted is a ChatService whose streams the test drives one by one.
type scripted struct {
	chatpb.UnimplementedChatServiceServer
	streams chan *fakeStream
}

func (f *scripted) ChatStream(stream chatStream) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s := &fakeStream{md: md, got: make(chan *chatpb.ChatMessage, 100), send: make(chan *chatpb.ChatMessage), end: make(chan error, 1)}
	f.streams <- s
	left := make(chan struct{})
	go func() {
		defer close(s.got)
		defer close(left)
		for {
			msg, err := stream.Recv()
			if err != nil {
				return
			}
			s.got <- msg
			if msg.GetKind() == chatpb.ChatMessage_KIND_LEAVE {
				return
			}
		}
	}()
	for {
		select {
		case m := <-s.send:
			if err := stream.Send(m); err != nil {
				return err
			}
		case err := <-s.end:
			return err
		case <-left:
			return nil // the server ends a leaving member's stream
		case <-stream.Context().Done():
			return stream.Context().Err()
		}
	}
}

// startScripted serves a scripted ChatService on a network the test
// controls and returns a reconnecting Config that dials it.
func startScripted(t *testing.T) (Config, *scripted, *network) {
	t.Helper()
	f := &scripted{streams: make(chan *fakeStream, 10)}
	cfg, n := serveOnNetwork(t, f)
	return cfg, f, n
}

// serveOnNetwork serves svc on a network the test controls and returns a
// reconnecting Config that dials it.
func serveOnNetwork(t *testing.T, svc chatpb.ChatServiceServer) (Config, *network) {
	t.Helper()
	n := &network{Listener: bufconn.Listen(1 << 20)}
	srv := grpc.NewServer()
	chatpb.RegisterChatServiceServer(srv, svc)
	go func() { _ = srv.Serve(n) }()
	t.Cleanup(srv.Stop)
	return Config{
		Server:      "passthrough:///bufnet",
		Name:        "Alice",
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(n.dial)},
		Reconnect:   true,
		Backoff:     tinyBackoff,
	}, n
}

func (f *scripted) stream(t *testing.T) *fakeStream {
	t.Helper()
	return wait(t, f.streams, "the client to open a stream")
}

func welcome(epoch string, id uint64, token string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{User: "system", Message: "Welcome, Alice! You are in room general.", Room: "general",
		Kind: chatpb.ChatMessage_KIND_SYSTEM, Epoch: epoch, Id: id, ResumeToken: token}
}

func bob(epoch string, id, seq uint64, text string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{User: "Bob", Message: text, Room: "general", Kind: chatpb.ChatMessage_KIND_TEXT,
		Epoch: epoch, Id: id, Seq: seq, ClientMsgId: "bob-" + text}
}

func historyMark(kind chatpb.ChatMessage_Kind, epoch string, id uint64) *chatpb.ChatMessage {
	text := "--- Recent messages in general ---"
	if kind == chatpb.ChatMessage_KIND_HISTORY_END {
		text = "--- End of history ---"
	}
	return &chatpb.ChatMessage{User: "system", Message: text, Room: "general", Kind: kind, Epoch: epoch, Id: id}
}

// wantLine reads the next output line and checks it contains part.
func wantLine(t *testing.T, out *lineOutput, part string) {
	t.Helper()
	if got := out.next(t); !strings.Contains(got, part) {
		t.Fatalf("output line %q, want one with %q", got, part)
	}
}

// start runs cfg with ctx, on input the test writes to inW, with output it
// reads line by line.
func start(t *testing.T, ctx context.Context, cfg Config) (inW *io.PipeWriter, out *lineOutput, done <-chan error) {
	t.Helper()
	inR, inW := io.Pipe()
	t.Cleanup(func() { _ = inW.Close() })
	out = newLineOutput(t)
	return inW, out, runAsync(ctx, cfg, NewLineReader(inR), out)
}

// joined is start, with the first stream's welcome (epoch E1, token
// tok-1) sent and shown.
func joined(t *testing.T, ctx context.Context, cfg Config, f *scripted) (*io.PipeWriter, *lineOutput, <-chan error, *fakeStream) {
	t.Helper()
	inW, out, done := start(t, ctx, cfg)
	s1 := f.stream(t)
	s1.say(welcome("E1", 1, "tok-1"))
	wantLine(t, out, "*** Welcome")
	return inW, out, done, s1
}

func md1(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) == 1 {
		return v[0]
	}
	return ""
}

// A dropped connection is reopened with the resume token and position;
// what the server replays that was already shown is hidden, a history
// block of nothing new is left out whole, and a new epoch starts afresh.
func TestReconnectResumesWhereItLeftOff(t *testing.T) {
	cfg, f, n := startScripted(t)
	inW, out, done := start(t, context.Background(), cfg)

	s1 := f.stream(t)
	for _, key := range []string{chatwire.ResumeTokenKey, chatwire.ResumeFromKey} {
		if v := s1.md.Get(key); len(v) != 0 {
			t.Errorf("first stream sends %s = %q, want nothing", key, v)
		}
	}
	s1.say(welcome("E1", 1, "tok-1"), bob("E1", 2, 1, "one"), bob("E1", 3, 2, "two"))
	wantLine(t, out, "*** Welcome, Alice! You are in room general.")
	wantLine(t, out, "[Bob]: one")
	wantLine(t, out, "[Bob]: two")

	n.cut(false)
	wantLine(t, out, "*** Connection lost (connection closed); reconnecting...")
	s2 := f.stream(t)
	if got := md1(s2.md, chatwire.ResumeTokenKey); got != "tok-1" {
		t.Errorf("%s = %q, want the welcome's token", chatwire.ResumeTokenKey, got)
	}
	if got := md1(s2.md, chatwire.ResumeFromKey); got != "E1:2" {
		t.Errorf("%s = %q, want E1:2", chatwire.ResumeFromKey, got)
	}
	if got := md1(s2.md, chatwire.UserKey); got != "Alice" {
		t.Errorf("%s = %q, want the same name", chatwire.UserKey, got)
	}
	// A server that sends a history block anyway: only the new message
	// shows, and the block of repeats is left out whole.
	back := welcome("E1", 10, "tok-2")
	back.Resumed, back.Message = true, "Welcome back, Alice!"
	s2.say(back,
		historyMark(chatpb.ChatMessage_KIND_HISTORY_START, "E1", 11), bob("E1", 2, 1, "one"), bob("E1", 3, 2, "two"),
		historyMark(chatpb.ChatMessage_KIND_HISTORY_END, "E1", 12),
		bob("E1", 13, 3, "three"), bob("E1", 3, 2, "two"))
	wantLine(t, out, "*** Reconnected")
	wantLine(t, out, "*** Welcome back, Alice!")
	wantLine(t, out, "[Bob]: three")

	// The store was replaced: its ids mean nothing next to E1's.
	s2.end <- status.Error(codes.Unavailable, "server is shutting down")
	wantLine(t, out, "*** Connection lost (server is shutting down); reconnecting...")
	s3 := f.stream(t)
	if got, want := md1(s3.md, chatwire.ResumeTokenKey)+" "+md1(s3.md, chatwire.ResumeFromKey), "tok-2 E1:3"; got != want {
		t.Errorf("resume metadata = %q, want %q", got, want)
	}
	s3.say(welcome("E2", 1, "tok-3"), historyMark(chatpb.ChatMessage_KIND_HISTORY_START, "E2", 2),
		bob("E2", 3, 1, "fresh"), historyMark(chatpb.ChatMessage_KIND_HISTORY_END, "E2", 4))
	wantLine(t, out, "*** Reconnected")
	wantLine(t, out, "*** Welcome, Alice!")
	wantLine(t, out, "--- Recent messages in general ---")
	wantLine(t, out, "[Bob]: fresh")
	wantLine(t, out, "--- End of history ---")

	_ = inW.Close()
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v, want nil at end of input", err)
	}
	if got := s3.next(t).GetKind(); got != chatpb.ChatMessage_KIND_LEAVE {
		t.Errorf("the client sent %v on leaving, want KIND_LEAVE", got)
	}
	if rest := out.rest(); len(rest) != 0 {
		t.Errorf("unexpected output %q", rest)
	}
}

// Lines typed while disconnected are shown as pending and sent once back,
// in order, after the line whose send was cut off, which keeps its id; a
// line the server replays is not sent again.
func TestReconnectSendsPendingLinesOnce(t *testing.T) {
	cfg, f, n := startScripted(t)
	cfg.maxPending = 2
	inW, out, done, s1 := joined(t, context.Background(), cfg, f)
	type_ := func(line string) {
		t.Helper()
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	type_("a")
	a := s1.next(t)
	if a.GetMessage() != "a" || len(a.GetClientMsgId()) != 36 {
		t.Fatalf("sent %v, want text a with a UUID client_msg_id", a)
	}

	n.cut(true) // and the server stays unreachable
	wantLine(t, out, "*** Connection lost (connection closed); reconnecting...")
	type_("b")
	wantLine(t, out, "(pending) b")
	type_("c\x1b[2J")
	wantLine(t, out, `(pending) c\x1b[2J`)
	type_("d")
	wantLine(t, out, "*** Not sent: 2 lines are already waiting for the connection")

	n.set(false, false)
	s2 := f.stream(t)
	var got []string
	ids := map[string]bool{}
	for range 3 {
		m := s2.next(t)
		got = append(got, m.GetMessage())
		if ids[m.GetClientMsgId()] {
			t.Errorf("client_msg_id %q used twice", m.GetClientMsgId())
		}
		ids[m.GetClientMsgId()] = true
	}
	if strings.Join(got, "|") != "a|b|c\x1b[2J" {
		t.Errorf("sent %q after reconnecting, want a, b, c in order", got)
	}
	if !ids[a.GetClientMsgId()] {
		t.Error("the cut-off line was resent with a new client_msg_id")
	}

	// The server had stored a before the cut and replays it: it is not
	// shown (it was typed here) and not resent after another cut.
	mine := &chatpb.ChatMessage{User: "Alice", Message: "a", Room: "general", Kind: chatpb.ChatMessage_KIND_TEXT,
		Epoch: "E1", Id: 5, Seq: 1, ClientMsgId: a.GetClientMsgId()}
	s2.say(welcome("E1", 4, "tok-2"), mine, bob("E1", 6, 2, "hi"))
	wantLine(t, out, "*** Reconnected")
	wantLine(t, out, "*** Welcome, Alice!")
	wantLine(t, out, "[Bob]: hi")

	n.cut(false)
	wantLine(t, out, "*** Connection lost (connection closed); reconnecting...")
	s3 := f.stream(t)
	if got := md1(s3.md, chatwire.ResumeFromKey); got != "E1:2" {
		t.Errorf("%s = %q, want E1:2 (own replayed line counted)", chatwire.ResumeFromKey, got)
	}
	got = nil
	for range 2 {
		got = append(got, s3.next(t).GetMessage())
	}
	if strings.Join(got, "|") != "b|c\x1b[2J" {
		t.Errorf("resent %q, want b and c only", got)
	}
	type_("/quit")
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if m := s3.next(t); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Errorf("then sent %v, want only the leave", m)
	}
}

// Retrying cannot fix a refused sign-in, a rejected request or someone
// else's resume credential: the client stops with the server's words.
func TestReconnectStopsOnErrorsRetryingCannotFix(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unauthenticated, "session expired"), "sign-in failed: session expired"},
		{status.Error(codes.InvalidArgument, "malformed chat-resume-from"), "disconnected: malformed chat-resume-from"},
		{status.Error(codes.PermissionDenied, "this resume token belongs to another user"), "disconnected: this resume token belongs to another user"},
	} {
		t.Run(status.Code(tc.err).String(), func(t *testing.T) {
			cfg, f, _ := startScripted(t)
			_, out, done, s1 := joined(t, context.Background(), cfg, f)
			s1.end <- tc.err
			err := wait(t, done, "Run to return")
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Run() = %v, want %q", err, tc.want)
			}
			if len(f.streams) != 0 {
				t.Error("the client opened another stream")
			}
			if rest := out.rest(); len(rest) != 0 {
				t.Errorf("output %q, want no status line", rest)
			}
		})
	}
}

// Everything else is worth another try.
func TestReconnectsAfterOtherEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"closed", nil, "(the server closed the stream)"},
		{"slow", status.Error(codes.ResourceExhausted, "client is not reading fast enough; disconnected"), "(client is not reading fast enough; disconnected)"},
		{"internal", status.Error(codes.Internal, ""), "(the server ended the stream with Internal)"},
		{"unknown", status.Error(codes.Unknown, "oops"), "(oops)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, f, _ := startScripted(t)
			inW, out, done, s1 := joined(t, context.Background(), cfg, f)
			s1.end <- tc.err
			wantLine(t, out, "*** Connection lost "+tc.want+"; reconnecting...")
			s2 := f.stream(t)
			s2.say(welcome("E1", 2, "tok-2"))
			wantLine(t, out, "*** Reconnected")
			wantLine(t, out, "*** Welcome")
			_ = inW.Close()
			if err := wait(t, done, "Run to return"); err != nil {
				t.Fatalf("Run() = %v", err)
			}
		})
	}
}

// While reconnecting -- waiting between attempts or in the middle of one
// -- the end of input, /quit and Ctrl+C leave at once.
func TestLeavesAtOnceWhileReconnecting(t *testing.T) {
	for _, how := range []string{"EOF", "/quit", "cancel"} {
		for _, phase := range []string{"waiting", "dialling"} {
			t.Run(how+" while "+phase, func(t *testing.T) {
				cfg, f, n := startScripted(t)
				// Waits far longer than the test may take: leaving must not
				// wait for them.
				cfg.Backoff = backoff.Config{BaseDelay: time.Hour, MaxDelay: time.Hour}
				cfg.ConnectTimeout = time.Hour
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				inW, out, done, _ := joined(t, ctx, cfg, f)
				n.set(true, phase == "dialling")
				n.cut(phase == "waiting")
				wantLine(t, out, "*** Connection lost")
				if phase == "waiting" {
					// The first attempt is at once and refused; then the
					// client waits an hour, holding what is typed.
					if _, err := io.WriteString(inW, "typed\n"); err != nil {
						t.Fatal(err)
					}
					wantLine(t, out, "(pending) typed")
				}
				switch how {
				case "EOF":
					_ = inW.Close()
				case "/quit":
					if _, err := io.WriteString(inW, "/quit\n"); err != nil {
						t.Fatal(err)
					}
				case "cancel":
					cancel()
				}
				if err := wait(t, done, "Run to return"); err != nil {
					t.Fatalf("Run() = %v, want nil", err)
				}
				if phase == "waiting" {
					wantLine(t, out, "*** 1 line typed while disconnected was not sent")
				}
				if rest := out.rest(); len(rest) != 0 {
					t.Errorf("unexpected output %q", rest)
				}
			})
		}
	}
}

// A session that never started (the server cannot be reached, or ends the
// first stream before a word) ends as before, reconnecting or not.
func TestReconnectNeedsAStartedSession(t *testing.T) {
	cfg, f, n := startScripted(t)
	n.set(true, false)
	err := Run(context.Background(), cfg, NewLineReader(strings.NewReader("hi\n")), io.Discard)
	if want := "cannot reach chat server at passthrough:///bufnet: connection refused"; err == nil || err.Error() != want {
		t.Errorf("Run() = %v, want %q", err, want)
	}

	n.set(false, false)
	inR, inW := io.Pipe()
	defer inW.Close()
	done := runAsync(context.Background(), cfg, NewLineReader(inR), io.Discard)
	f.stream(t).end <- status.Error(codes.Internal, "boom")
	if err := wait(t, done, "Run to return"); err == nil || err.Error() != "disconnected: boom" {
		t.Errorf("Run() = %v, want the server's status", err)
	}
	if len(f.streams) != 0 {
		t.Error("the client opened another stream")
	}
}

// sendRecorder is a client stream that records what is sent on it.
type sendRecorder struct {
	chatpb.ChatService_ChatStreamClient
	sent []string
}

func (r *sendRecorder) Send(m *chatpb.ChatMessage) error {
	r.sent = append(r.sent, m.GetMessage())
	return nil
}

// A long queue goes out in a burst, then at the pace's rate.
func TestFlushIsPaced(t *testing.T) {
	s := &session{outbox: newOutbox(10, nil)}
	for _, text := range []string{"1", "2", "3", "4", "5"} {
		if err := s.outbox.hold(&chatpb.ChatMessage{Message: text, ClientMsgId: text}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &sendRecorder{}
	wait, err := s.flush(&conn{stream: rec}, rate.NewLimiter(rate.Every(time.Hour), 3))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rec.sent, " "); got != "1 2 3" {
		t.Errorf("sent %q at once, want the burst of 3", got)
	}
	if wait < 59*time.Minute {
		t.Errorf("wait = %v, want about an hour for the next line", wait)
	}
	wait, err = s.flush(&conn{stream: rec}, rate.NewLimiter(rate.Inf, 0))
	if err != nil || wait != 0 || strings.Join(rec.sent, " ") != "1 2 3 4 5" {
		t.Errorf("flush() = %v, %v; sent %q, want the rest in order", wait, err, rec.sent)
	}
}

// More lines than the flush burst, typed during an outage, all arrive in
// order, and a line typed while they are still going out comes after them.
func TestReconnectSendsALongQueueInOrder(t *testing.T) {
	cfg, f, n := startScripted(t)
	inW, out, done, _ := joined(t, context.Background(), cfg, f)
	n.cut(true)
	wantLine(t, out, "*** Connection lost")
	const count = flushBurst + 5
	var want []string
	for i := range count {
		text := "line " + strconv.Itoa(i)
		want = append(want, text)
		if _, err := io.WriteString(inW, text+"\n"); err != nil {
			t.Fatal(err)
		}
		wantLine(t, out, "(pending) "+text)
	}
	n.set(false, false)
	s2 := f.stream(t)
	var got []string
	for range flushBurst {
		got = append(got, s2.next(t).GetMessage())
	}
	// The burst is out and the rest waits for the pace, so this line is
	// typed while they are going out (on a very slow machine, after): it
	// must come last either way.
	if _, err := io.WriteString(inW, "last\n"); err != nil {
		t.Fatal(err)
	}
	want = append(want, "last")
	for range count - flushBurst + 1 {
		got = append(got, s2.next(t).GetMessage())
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server got %q, want %q", got, want)
	}
	_ = inW.Close()
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
}

// A server without epochs (it predates resuming) does not drop repeated
// client_msg_ids: the client sends it only the lines it never sent, and no
// resume metadata.
func TestReconnectToAServerWithoutResume(t *testing.T) {
	cfg, f, n := startScripted(t)
	inW, out, done := start(t, context.Background(), cfg)
	s1 := f.stream(t)
	s1.say(welcome("", 1, ""))
	wantLine(t, out, "*** Welcome")
	if _, err := io.WriteString(inW, "a\n"); err != nil {
		t.Fatal(err)
	}
	s1.next(t)
	n.cut(true)
	wantLine(t, out, "*** Connection lost")
	if _, err := io.WriteString(inW, "b\n"); err != nil {
		t.Fatal(err)
	}
	wantLine(t, out, "(pending) b")
	n.set(false, false)
	s2 := f.stream(t)
	for _, key := range []string{chatwire.ResumeTokenKey, chatwire.ResumeFromKey} {
		if v := s2.md.Get(key); len(v) != 0 {
			t.Errorf("sends %s = %q to a server without resume, want nothing", key, v)
		}
	}
	if got := s2.next(t).GetMessage(); got != "b" {
		t.Errorf("sent %q first after reconnecting, want b only", got)
	}
	_ = inW.Close()
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
	if m := s2.next(t); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Errorf("then sent %v, want only the leave", m)
	}
}
