package chat

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// joiner is a member that joined with Join and sends with Send.
type joiner struct {
	*client
	ts      *testServer
	api     chatpb.ChatServiceClient
	md      []string // request metadata (key, value, ...)
	cancel  context.CancelFunc
	welcome *chatpb.ChatMessage
}

// joinWeb calls Join with req and md (key, value, ...) and reads the
// welcome, failing the test if the first message is not one.
func (ts *testServer) joinWeb(t *testing.T, req *chatpb.JoinRequest, md ...string) *joiner {
	t.Helper()
	j := ts.openWeb(t, req, md...)
	j.welcome = j.expect(kSys, "")
	if !strings.HasPrefix(j.welcome.GetMessage(), "Welcome") {
		t.Fatalf("first message %q, want the welcome", j.welcome.GetMessage())
	}
	return j
}

// openWeb calls Join with req and md and returns it unread.
func (ts *testServer) openWeb(t *testing.T, req *chatpb.JoinRequest, md ...string) *joiner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	api := chatpb.NewChatServiceClient(ts.conn(t))
	st, err := api.Join(metadata.AppendToOutgoingContext(ctx, md...), req)
	if err != nil {
		t.Fatal(err)
	}
	return &joiner{client: receive(t, st), ts: ts, api: api, md: md, cancel: cancel}
}

// send calls Send with the membership's token and the call's metadata.
func (j *joiner) send(req *chatpb.SendRequest) error {
	if req.MemberToken == "" {
		req.MemberToken = j.welcome.GetMemberToken()
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), j.md...)
	_, err := j.api.Send(ctx, req)
	return err
}

// sayWeb sends text, failing the test if Send fails.
func (j *joiner) sayWeb(text string) {
	j.t.Helper()
	if err := j.send(&chatpb.SendRequest{Message: text}); err != nil {
		j.t.Fatalf("Send %q: %v", text, err)
	}
}

// leave calls Leave for the membership.
func (j *joiner) leave() error {
	ctx := metadata.AppendToOutgoingContext(context.Background(), j.md...)
	_, err := j.api.Leave(ctx, &chatpb.LeaveRequest{MemberToken: j.welcome.GetMemberToken()})
	return err
}

func TestJoinAndSendChatWithAStreamMember(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	w := bob.welcome
	if w.GetMessage() != "Welcome, Bob! You are in room general." || w.GetResumeToken() == "" || len(w.GetMemberToken()) < 22 {
		t.Fatalf("welcome %v: want the name, a resume token and a 128-bit member token", w)
	}
	if w.GetMemberToken() == w.GetResumeToken() {
		t.Fatal("the member token is the resume token")
	}
	alice.expect(kJoin, "Bob joined the room")

	bob.sayWeb("hi Alice\n")
	alice.expectText("Bob", "hi Alice")
	alice.say("hi Bob")
	bob.expectText("Alice", "hi Bob")

	if err := bob.send(&chatpb.SendRequest{Kind: kAction, Message: "waves"}); err != nil {
		t.Fatal(err)
	}
	if m := alice.expect(kAction, "* Bob waves"); m.GetUser() != "Bob" {
		t.Fatalf("action from %q", m.GetUser())
	}
	if err := bob.send(&chatpb.SendRequest{Kind: kPrivate, Recipient: "alice", Message: "psst"}); err != nil {
		t.Fatal(err)
	}
	alice.expect(kPrivate, "[private from Bob] psst")
	bob.expect(kPrivate, "[private to Alice] psst")

	// Bob's own text never came back: the next thing he gets is Alice's.
	alice.say("done")
	bob.expectText("Alice", "done")

	// Two Join members see each other as well.
	carol := ts.joinWeb(t, &chatpb.JoinRequest{User: "Carol"})
	bob.expect(kJoin, "Carol joined the room")
	alice.expect(kJoin, "Carol joined the room")
	carol.sayWeb("hello both")
	bob.expectText("Carol", "hello both")
	alice.expectText("Carol", "hello both")
}

func TestJoinGetsHistoryAndRoomsStayApart(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "red")
	watcher := ts.join(t, "Watcher", "red")
	alice.say("before you came")
	// A second member proves the text was relayed (and so kept) first.
	watcher.expectText("Alice", "before you came")

	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob", Room: "red"})
	if bob.welcome.GetMessage() != "Welcome, Bob! You are in room red." {
		t.Fatalf("welcome %q", bob.welcome.GetMessage())
	}
	bob.expect(kStart, "--- Recent messages in red ---")
	bob.expectText("Alice", "before you came")
	bob.expect(kEnd, "--- End of history ---")

	gen := ts.join(t, "Gen", "")
	other := ts.joinWeb(t, &chatpb.JoinRequest{User: "Other"})
	gen.expect(kJoin, "Other joined the room")
	bob.sayWeb("only in red")
	alice.expect(kJoin, "Watcher joined the room")
	alice.expect(kJoin, "Bob joined the room")
	alice.expectText("Bob", "only in red")
	other.sayWeb("only in general")
	gen.expectText("Other", "only in general")
	gen.say("general again")
	// Had red's message reached general, it would come first.
	other.expectText("Gen", "general again")
	watcher.expect(kJoin, "Bob joined the room")
	watcher.expectText("Bob", "only in red")
}

func TestUnnamedJoinIsClientN(t *testing.T) {
	ts := startServer(t, Config{})
	j := ts.joinWeb(t, &chatpb.JoinRequest{})
	if !strings.HasPrefix(j.welcome.GetMessage(), "Welcome, Client(") {
		t.Fatalf("welcome %q", j.welcome.GetMessage())
	}
}

func TestLeaveEndsTheMembership(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	alice.expect(kJoin, "Bob joined the room")
	bob.sayWeb("bye")
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	// At once, not after a grace period, and the Join stream ends with OK.
	alice.expectText("Bob", "bye")
	alice.expect(kLeave, "Bob left the room")
	if err := bob.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("Join ended with %v, want OK", err)
	}
	if err := bob.send(&chatpb.SendRequest{Message: "ghost"}); code(err) != codes.NotFound {
		t.Fatalf("Send after Leave: %v, want NOT_FOUND", err)
	}
	if err := bob.leave(); code(err) != codes.NotFound {
		t.Fatalf("Leave twice: %v, want NOT_FOUND", err)
	}
	// The resume token was forgotten with the membership.
	again := ts.openWeb(t, &chatpb.JoinRequest{User: "Bob", ResumeToken: bob.welcome.GetResumeToken()})
	again.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
	if w := again.expect(kSys, "Welcome, Bob! You are in room general."); w.GetResumed() {
		t.Fatal("a membership that left was resumed")
	}
}

func TestSendRefusesBadInputButKeepsTheMembership(t *testing.T) {
	ts := startServer(t, Config{MaxMessageBytes: 10})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	alice.expect(kJoin, "Bob joined the room")

	for _, tc := range []struct {
		req  *chatpb.SendRequest
		code codes.Code
		want string
	}{
		{&chatpb.SendRequest{Message: "far too long for ten"}, codes.InvalidArgument, "message text is 20 bytes; the limit is 10 bytes"},
		{&chatpb.SendRequest{Message: "x", Kind: kJoin}, codes.InvalidArgument, "Send takes KIND_TEXT, KIND_ACTION or KIND_PRIVATE"},
		{&chatpb.SendRequest{Message: "x", Kind: kLeave}, codes.InvalidArgument, "call Leave to leave"},
		{&chatpb.SendRequest{Message: "x", Recipient: "Alice"}, codes.InvalidArgument, "only a KIND_PRIVATE message may name a recipient"},
		{&chatpb.SendRequest{Message: "x", ClientMsgId: "bad\nid"}, codes.InvalidArgument, "client_msg_id must be printable ASCII"},
		{&chatpb.SendRequest{Message: "x", MemberToken: "guessed"}, codes.NotFound, "no membership has this member_token"},
	} {
		err := bob.send(tc.req)
		if code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Send %v: %v, want %s %q", tc.req, err, tc.code, tc.want)
		}
	}
	_, err := bob.api.Send(context.Background(), &chatpb.SendRequest{Message: "x"})
	if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "member_token is required") {
		t.Errorf("Send without a token: %v", err)
	}
	// None of it was relayed, and the membership goes on.
	bob.sayWeb("fine")
	alice.expectText("Bob", "fine")
}

func TestSendOverTheRateLimitEndsTheMembership(t *testing.T) {
	ts := startServer(t, Config{Rate: 0.001, Burst: 2})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	alice.expect(kJoin, "Bob joined the room")
	bob.sayWeb("one")
	bob.sayWeb("two")
	err := bob.send(&chatpb.SendRequest{Message: "three"})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "sending too fast") {
		t.Fatalf("third Send: %v, want RESOURCE_EXHAUSTED", err)
	}
	if err := bob.end(); code(err) != codes.ResourceExhausted {
		t.Fatalf("Join ended with %v, want RESOURCE_EXHAUSTED", err)
	}
	alice.expectText("Bob", "one")
	alice.expectText("Bob", "two")
	alice.expect(kLeave, "Bob left the room")
}

func TestJoinResumesWithTheMissedMessagesOnly(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	alice.expect(kJoin, "Bob joined the room")
	alice.say("seen")
	seen := bob.expectText("Alice", "seen")
	bob.sayWeb("mine") // seq 2: Bob's own, shown when typed
	// Stored and relayed before the drop: it is history to replay. (An own
	// text still on its way when its sender resumes comes neither in the
	// replay nor live: the client showed it when typed.)
	alice.expectText("Bob", "mine")

	bob.cancel() // the connection drops
	bob.end()
	alice.say("missed")
	// The room was told nothing; Alice's next message proves it.

	back := ts.joinWeb(t, &chatpb.JoinRequest{
		User: "Someone else", ResumeToken: bob.welcome.GetResumeToken(),
		ResumeEpoch: seen.GetEpoch(), ResumeSeq: seen.GetSeq(),
	})
	if back.welcome.GetMessage() != "Welcome back, Bob! You are in room general." || !back.welcome.GetResumed() {
		t.Fatalf("welcome %v", back.welcome)
	}
	if back.welcome.GetMemberToken() == bob.welcome.GetMemberToken() {
		t.Fatal("the resumed membership kept the old member token")
	}
	if m := back.expectText("Bob", "mine"); m.GetSeq() != seen.GetSeq()+1 {
		t.Fatalf("replayed own line with seq %d", m.GetSeq())
	}
	back.expectText("Alice", "missed")
	// The old token is dead; a repeated id is relayed once.
	if err := bob.send(&chatpb.SendRequest{Message: "old"}); code(err) != codes.NotFound {
		t.Fatalf("Send with the dropped stream's token: %v", err)
	}
	for range 2 {
		if err := back.send(&chatpb.SendRequest{Message: "once", ClientMsgId: "id-1"}); err != nil {
			t.Fatal(err)
		}
	}
	back.sayWeb("after")
	alice.expectText("Bob", "once")
	alice.expectText("Bob", "after")
}

func TestJoinRefusesBadResumePoints(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	for _, tc := range []struct {
		req  *chatpb.JoinRequest
		want string
	}{
		{&chatpb.JoinRequest{User: "A", ResumeSeq: 3}, "resume_seq needs the resume_epoch"},
		{&chatpb.JoinRequest{User: "A", ResumeEpoch: "no:colons"}, "resume_epoch must be an epoch"},
		{&chatpb.JoinRequest{User: "A", ResumeEpoch: strings.Repeat("e", 65)}, "resume_epoch must be an epoch"},
		{&chatpb.JoinRequest{User: "A\x1b[2J"}, "name (user) contains the control character"},
		{&chatpb.JoinRequest{User: "A", Room: strings.Repeat("r", 65)}, "room is 65 bytes"},
		{&chatpb.JoinRequest{User: "A", HeartbeatSeconds: 3601}, "heartbeat_seconds must be 0 (no heartbeats) to 3600, not 3601"},
	} {
		err := ts.openWeb(t, tc.req).end()
		if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Join %v: %v, want INVALID_ARGUMENT %q", tc.req, err, tc.want)
		}
	}
}

func TestJoinSendAndLeaveNeedTheSignedInUser(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk, ResumeGrace: grace})
	if err := ts.openWeb(t, &chatpb.JoinRequest{User: "bob"}).end(); code(err) != codes.Unauthenticated {
		t.Fatalf("Join without signing in: %v", err)
	}
	if err := ts.openWeb(t, &chatpb.JoinRequest{}, chatwire.AuthorizationKey, "Bearer wrong").end(); code(err) != codes.Unauthenticated {
		t.Fatalf("Join with an unknown session: %v", err)
	}
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "alice"}, chatwire.AuthorizationKey, "Bearer tok-bob")
	if bob.welcome.GetMessage() != "Welcome, bob! You are in room general." {
		t.Fatalf("welcome %q: the signed-in name must win", bob.welcome.GetMessage())
	}
	token := bob.welcome.GetMemberToken()
	for _, tc := range []struct {
		md   []string
		code codes.Code
	}{
		{nil, codes.Unauthenticated},
		{[]string{chatwire.AuthorizationKey, "Bearer tok-alice"}, codes.PermissionDenied},
	} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), tc.md...)
		if _, err := bob.api.Send(ctx, &chatpb.SendRequest{MemberToken: token, Message: "x"}); code(err) != tc.code {
			t.Errorf("Send with %v: %v, want %s", tc.md, err, tc.code)
		}
		if _, err := bob.api.Leave(ctx, &chatpb.LeaveRequest{MemberToken: token}); code(err) != tc.code {
			t.Errorf("Leave with %v: %v, want %s", tc.md, err, tc.code)
		}
	}
	bob.sayWeb("signed in")
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	if err := bob.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("Join ended with %v", err)
	}
}

func TestMemberTokensAreNeverLogged(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, Config{ResumeGrace: grace, Logger: log})
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	bob.sayWeb("hello")
	if err := bob.leave(); err != nil {
		t.Fatal(err)
	}
	bob.end()
	out := logs.String()
	for _, secret := range []string{bob.welcome.GetMemberToken(), bob.welcome.GetResumeToken(), "hello"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log has %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "client left") {
		t.Fatalf("the log has no leave:\n%s", out)
	}
}

func TestShutdownEndsJoinStreams(t *testing.T) {
	ts := startServer(t, Config{})
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	ts.svc.Shutdown()
	bob.expect(kSys, "Server is shutting down")
	if err := bob.end(); code(err) != codes.Unavailable {
		t.Fatalf("Join ended with %v, want UNAVAILABLE", err)
	}
	if err := ts.openWeb(t, &chatpb.JoinRequest{User: "Late"}).end(); code(err) != codes.Unavailable {
		t.Fatalf("Join during shutdown: %v", err)
	}
}

func TestJoinSendsTheHeartbeatsItAsksFor(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	quiet := ts.joinWeb(t, &chatpb.JoinRequest{User: "Quiet", Room: "beats"})
	beating := ts.joinWeb(t, &chatpb.JoinRequest{User: "Beating", Room: "beats", HeartbeatSeconds: 1})
	quiet.expect(chatpb.ChatMessage_KIND_JOIN, "Beating joined the room")

	for i := range 2 {
		m := beating.next()
		for m.GetKind() == chatpb.ChatMessage_KIND_HISTORY_START || m.GetKind() == chatpb.ChatMessage_KIND_HISTORY_END {
			m = beating.next()
		}
		if m.GetKind() != chatpb.ChatMessage_KIND_HEARTBEAT {
			t.Fatalf("message %d: %s %q, want a heartbeat", i, m.GetKind(), m.GetMessage())
		}
		if m.GetId() != 0 || m.GetSeq() != 0 || m.GetRoom() != "beats" || m.GetSentAt() == nil {
			t.Fatalf("heartbeat %v: want no id or seq, the room and the time", m)
		}
	}
	// Two seconds on, the member that asked for none has had none: what
	// comes next is the room's traffic.
	beating.sayWeb("after the beats")
	quiet.expectText("Beating", "after the beats")
}

// A page going away ends its stream and sends Leave at once, and the
// stream's end may come first: the member then counts as dropped, and its
// Leave ends the grace period there and then, so the room is told at once
// rather than when the grace period ends.
func TestLeaveAfterTheStreamDroppedTellsTheRoomAtOnce(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: time.Hour})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinWeb(t, &chatpb.JoinRequest{User: "Bob"})
	alice.expect(kJoin, "Bob joined the room")
	bob.cancel()
	bob.end()
	waitFor(t, "Bob's stream to count as dropped", func() bool {
		sess := ts.svc.lookupSession(tokenID(bob.welcome.GetResumeToken()))
		if sess == nil {
			return false
		}
		r := sess.member.room
		r.mu.Lock()
		defer r.mu.Unlock()
		return sess.member.dropped
	})
	if err := bob.leave(); err != nil {
		t.Fatalf("Leave after the stream dropped: %v", err)
	}
	alice.expect(kLeave, "Bob left the room")
	if err := bob.leave(); code(err) != codes.NotFound {
		t.Fatalf("Leave twice: %v, want NOT_FOUND", err)
	}
	again := ts.openWeb(t, &chatpb.JoinRequest{User: "Bob", ResumeToken: bob.welcome.GetResumeToken()})
	again.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
}
