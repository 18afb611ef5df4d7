package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
)

// grace is a grace period no test waits out.
const grace = time.Hour

// dropper is a client whose connection the test can drop.
type dropper struct {
	*client
	cancel  context.CancelFunc
	welcome *chatpb.ChatMessage
}

// openDroppable opens a stream with md (key, value, ...) and returns it
// with its first message read (the welcome, unless told otherwise).
func (ts *testServer) openDroppable(t *testing.T, md ...string) *dropper {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), md...))
	t.Cleanup(cancel)
	st, err := chatpb.NewChatServiceClient(ts.conn(t)).ChatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &dropper{client: newClient(t, st), cancel: cancel}
}

// joinDroppable opens a stream as user in room "" (general) and reads its
// welcome.
func (ts *testServer) joinDroppable(t *testing.T, user string, md ...string) *dropper {
	t.Helper()
	d := ts.openDroppable(t, append([]string{chatwire.UserKey, user}, md...)...)
	d.welcome = d.expect(kSys, "")
	return d
}

// drop cuts the client's connection without a leave and waits until the
// stream has ended on the client's side.
func (d *dropper) drop() {
	d.t.Helper()
	d.cancel()
	d.end()
}

// restartable is a chat server whose broker's NATS server stores under a
// directory: a server started again on it has what this one kept.
type restartable struct {
	*testServer
	dir string
	ns  *server.Server
	b   *broker.Broker
}

// startRestartable starts a chat server with cfg on a NATS server storing
// under dir.
func startRestartable(t *testing.T, dir string, cfg Config) *restartable {
	t.Helper()
	ns := brokertest.ServerAt(t, dir)
	cfg.Broker = openBroker(t, broker.Options{Server: ns, History: max(cfg.History, chatwire.HistorySize)})
	return &restartable{testServer: startServer(t, cfg), dir: dir, ns: ns, b: cfg.Broker}
}

// restart stops rs as a crash of the chat server would (its streams are
// cut, no shutdown notice), waits for the given clients' streams to end,
// stops its broker and NATS server, and starts a new chat server with cfg
// on what they stored.
func (rs *restartable) restart(t *testing.T, cfg Config, clients ...*client) *restartable {
	t.Helper()
	rs.srv.Stop()
	for _, c := range clients {
		c.end()
	}
	rs.b.Close()
	rs.ns.Shutdown()
	rs.ns.WaitForShutdown()
	return startRestartable(t, rs.dir, cfg)
}

// resumeFrom is the chat-resume-from value for seq in epoch.
func resumeFrom(epoch string, seq uint64) string { return fmt.Sprintf("%s:%d", epoch, seq) }

func TestWelcomeCarriesTokenEpochAndSeqs(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	a := ts.joinDroppable(t, "Alice")
	w := a.welcome
	epoch := ts.svc.epoch
	if len(epoch) != 16 || w.GetEpoch() != epoch || w.GetResumed() || w.GetSeq() != 0 {
		t.Fatalf("welcome %v, epoch %q", w, epoch)
	}
	tok := w.GetResumeToken()
	if !strings.HasPrefix(tok, epoch+".") || len(tok) < len(epoch)+1+22 {
		t.Fatalf("token %q: want the epoch and 128 random bits", tok)
	}
	b := ts.joinDroppable(t, "Bob")
	if b.welcome.GetResumeToken() == tok {
		t.Fatal("two members got the same token")
	}
	a.expect(kJoin, "Bob joined the room")
	for i := uint64(1); i <= 3; i++ {
		a.say(fmt.Sprint("m", i))
		m := b.expectText("Alice", fmt.Sprint("m", i))
		if m.GetSeq() != i || m.GetEpoch() != epoch {
			t.Fatalf("text %d has seq %d epoch %q", i, m.GetSeq(), m.GetEpoch())
		}
	}

	// Resuming off: no token, and a dropped member leaves at once.
	off := startServer(t, Config{})
	c := off.joinDroppable(t, "Carol")
	if c.welcome.GetResumeToken() != "" || c.welcome.GetEpoch() == "" {
		t.Fatalf("welcome with resuming off: %v", c.welcome)
	}
	d := off.joinDroppable(t, "Dan")
	c.expect(kJoin, "Dan joined the room")
	d.drop()
	c.expect(kLeave, "Dan left the room")
}

func TestResumeKeepsTheNameWithoutNoise(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	alice.say("before")
	seen := bob.expectText("Alice", "before")
	bob.drop()

	// The name stays reserved: a newcomer asking for it is told apart.
	other := ts.joinDroppable(t, "Bob")
	if other.welcome.GetMessage() != "Welcome, Bob(2)! You are in room general." {
		t.Fatalf("newcomer during the grace period: %q", other.welcome.GetMessage())
	}
	other.expect(kStart, "")
	other.expectText("Alice", "before")
	other.expect(kEnd, "")
	alice.expect(kJoin, "Bob(2) joined the room") // and no "Bob left"
	alice.say("while away 1")
	alice.say("while away 2")
	other.expectText("Alice", "while away 1")
	other.expectText("Alice", "while away 2")

	back := ts.joinDroppable(t, "ignored", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken(),
		chatwire.ResumeFromKey, resumeFrom(seen.GetEpoch(), seen.GetSeq()))
	w := back.welcome
	if w.GetMessage() != "Welcome back, Bob! You are in room general." || !w.GetResumed() ||
		w.GetResumeToken() != bob.welcome.GetResumeToken() {
		t.Fatalf("resumed welcome: %v", w)
	}
	// Exactly what was missed, as first sent, and no history block.
	r1 := back.expectText("Alice", "while away 1")
	back.expectText("Alice", "while away 2")
	if r1.GetSeq() != seen.GetSeq()+1 {
		t.Fatalf("replayed seq %d after %d", r1.GetSeq(), seen.GetSeq())
	}
	alice.say("after")
	back.expectText("Alice", "after")
	other.expectText("Alice", "after")
	// The room saw no leave or join for the blip: Alice's next message is
	// Bob's text.
	back.say("I am back")
	alice.expectText("Bob", "I am back")
	other.expectText("Bob", "I am back")
}

func TestGraceEndsWithTheLeaveNotice(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: 50 * time.Millisecond})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	bob.drop()
	alice.expect(kLeave, "Bob left the room")

	late := ts.openDroppable(t, chatwire.UserKey, "Bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	late.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
	w := late.expect(kSys, "Welcome, Bob! You are in room general.")
	if w.GetResumed() || w.GetResumeToken() == "" || w.GetResumeToken() == bob.welcome.GetResumeToken() {
		t.Fatalf("welcome after a failed resume: %v", w)
	}
	alice.expect(kJoin, "Bob joined the room")
}

func TestLeavingEndsTheSessionAtOnce(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	if err := bob.stream.Send(&chatpb.ChatMessage{Kind: kLeave}); err != nil {
		t.Fatal(err)
	}
	alice.expect(kLeave, "Bob left the room")
	if err := bob.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("leave ended with %v", err)
	}
	again := ts.openDroppable(t, chatwire.UserKey, "Bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	again.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
	again.expect(kSys, "Welcome, Bob! You are in room general.")
	alice.expect(kJoin, "Bob joined the room")
}

func TestResumeReplacesAStillRegisteredStream(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	// The server has not noticed the old connection is gone (say, a
	// half-open TCP connection) when the client comes back.
	back := ts.joinDroppable(t, "Bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	if back.welcome.GetMessage() != "Welcome back, Bob! You are in room general." {
		t.Fatalf("welcome: %v", back.welcome)
	}
	// Without chat-resume-from, the usual history (none here).
	if err := bob.end(); code(err) != codes.Aborted {
		t.Fatalf("old stream ended with %v, want ABORTED", err)
	}
	back.say("one of me")
	alice.expectText("Bob", "one of me")
	alice.say("hello")
	back.expectText("Alice", "hello")
}

func TestTokenOfAnotherEpochOrRoomOrOff(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	bob := ts.joinDroppable(t, "Bob")
	tok := bob.welcome.GetResumeToken()
	bob.drop()
	_, rest, _ := strings.Cut(tok, ".")
	for _, tc := range []struct {
		md   []string
		want string
	}{
		{[]string{chatwire.ResumeTokenKey, "0123456789abcdef." + rest}, "the server's history was reset since the token was issued"},
		{[]string{chatwire.ResumeTokenKey, "garbage"}, "the server's history was reset since the token was issued"},
		{[]string{chatwire.ResumeTokenKey, tok, chatwire.RoomKey, "elsewhere"}, "the token is for another room"},
	} {
		c := ts.openDroppable(t, append([]string{chatwire.UserKey, "Stranger"}, tc.md...)...)
		c.expect(kSys, "Could not resume: "+tc.want+"; joined as a new member")
		c.expect(kSys, "")
	}
	off := startServer(t, Config{})
	c := off.openDroppable(t, chatwire.ResumeTokenKey, tok)
	c.expect(kSys, "Could not resume: resuming is turned off on this server; joined as a new member")
}

func TestResumeNeedsTheSameSignedInUser(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk, ResumeGrace: grace})
	alice := ts.openDroppable(t, chatwire.AuthorizationKey, "Bearer tok-alice")
	w := alice.expect(kSys, "Welcome, alice! You are in room general.")
	alice.drop()
	err := recvUntilErr(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob", chatwire.ResumeTokenKey, w.GetResumeToken()))
	if code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "another user's session") {
		t.Fatalf("bob with alice's token: %v, want PERMISSION_DENIED", err)
	}
	// Her other session token is hers: she resumes.
	back := ts.openDroppable(t, chatwire.AuthorizationKey, "Bearer tok-alice-2", chatwire.ResumeTokenKey, w.GetResumeToken())
	back.expect(kSys, "Welcome back, alice! You are in room general.")
}

func TestResumeFromAnotherEpochOrMalformed(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	a := ts.joinDroppable(t, "Alice")
	witness := ts.joinDroppable(t, "Witness")
	a.say("kept")
	witness.expectText("Alice", "kept") // so it is in the history
	b := ts.openDroppable(t, chatwire.ResumeFromKey, "0123456789abcdef:7")
	b.expect(kSys, "Welcome, Client(3)! You are in room general.")
	b.expect(kSys, "The server's history was reset; showing recent messages")
	b.expect(kStart, "")
	b.expectText("Alice", "kept")
	b.expect(kEnd, "")
	// A seq beyond the room's newest message is another history too.
	c := ts.openDroppable(t, chatwire.ResumeFromKey, resumeFrom(ts.svc.epoch, 99))
	c.expect(kSys, "")
	c.expect(kSys, "The server's history was reset; showing recent messages")

	for _, v := range []string{"", "nocolon", ":5", "abc:", "abc:-1", "abc:+1", "abc:1.5", "ab c:1", "abc:99999999999999999999", strings.Repeat("a", 65) + ":1"} {
		err := recvUntilErr(t, ts.open(t, nil, chatwire.ResumeFromKey, v))
		if code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), chatwire.ResumeFromKey+" must be <epoch>:<seq>") {
			t.Errorf("chat-resume-from %q: %v, want INVALID_ARGUMENT", v, err)
		}
	}
}

func TestResumeFromToldWhatIsNoLongerKept(t *testing.T) {
	ts := startServer(t, Config{History: 3})
	a := ts.joinDroppable(t, "Alice")
	witness := ts.joinDroppable(t, "Witness")
	for i := 1; i <= 6; i++ {
		a.say(fmt.Sprint("m", i))
		witness.expectText("Alice", fmt.Sprint("m", i))
	}
	// Kept: m4 m5 m6. A client that saw up to m1 missed m2 and m3.
	b := ts.openDroppable(t, chatwire.ResumeFromKey, resumeFrom(ts.svc.epoch, 1))
	b.expect(kSys, "Welcome, Client(3)! You are in room general.")
	b.expect(kSys, "You missed 2 messages that are no longer in history")
	for i := 4; i <= 6; i++ {
		if m := b.expectText("Alice", fmt.Sprint("m", i)); m.GetSeq() != uint64(i) {
			t.Fatalf("m%d has seq %d", i, m.GetSeq())
		}
	}
	// Up to date: nothing replayed, then live traffic.
	c := ts.openDroppable(t, chatwire.ResumeFromKey, resumeFrom(ts.svc.epoch, 6))
	c.expect(kSys, "Welcome, Client(4)! You are in room general.")
	a.say("live")
	c.expectText("Alice", "live")
	// seq 0 with the epoch: everything kept, one missed notice.
	d := ts.openDroppable(t, chatwire.ResumeFromKey, resumeFrom(ts.svc.epoch, 0))
	d.expect(kSys, "")
	d.expect(kSys, "You missed 4 messages that are no longer in history")
	d.expectText("Alice", "m5")
}

// sendWithID sends text with the client_msg_id id.
func sendWithID(t *testing.T, c *client, id, text string) {
	t.Helper()
	if err := c.stream.Send(&chatpb.ChatMessage{Message: text, ClientMsgId: id}); err != nil {
		t.Fatal(err)
	}
}

func TestRepeatedClientMsgIDIsRelayedOnce(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: grace})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	sendWithID(t, alice.client, "id-1", "once")
	sendWithID(t, alice.client, "id-1", "once")
	sendWithID(t, alice.client, "id-2", "twice?")
	m := bob.expectText("Alice", "once")
	if m.GetClientMsgId() != "id-1" {
		t.Fatalf("client_msg_id relayed as %q", m.GetClientMsgId())
	}
	bob.expectText("Alice", "twice?")
	// Another member may use the same id.
	sendWithID(t, bob.client, "id-1", "mine")
	alice.expectText("Bob", "mine")

	// Kept across a resume: the resend of a message cut off mid-way.
	alice.drop()
	back := ts.joinDroppable(t, "Alice", chatwire.ResumeTokenKey, alice.welcome.GetResumeToken())
	sendWithID(t, back.client, "id-2", "twice?")
	sendWithID(t, back.client, "id-3", "new")
	bob.expectText("Alice", "new")
	// Kept once: a newcomer's history has the four texts.
	carol := ts.joinDroppable(t, "Carol")
	carol.expect(kStart, "")
	for _, want := range []string{"once", "twice?", "mine", "new"} {
		carol.expect(kText, want)
	}
	carol.expect(kEnd, "")

	for _, id := range []string{strings.Repeat("x", 65), "tab\there", "é"} {
		c := ts.joinDroppable(t, "Eve")
		sendWithID(t, c.client, id, "hi")
		if err := c.end(); code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "client_msg_id") {
			t.Errorf("client_msg_id %q: %v, want INVALID_ARGUMENT", id, err)
		}
	}
}

// holder holds back, while on, the records a broker sends to JetStream, as
// a slow broker would, until the test releases them.
type holder struct {
	mu     sync.Mutex
	gate   chan struct{} // nil: records go at once
	queued chan struct{} // a record is held
}

func newHolder() *holder { return &holder{queued: make(chan struct{}, 100)} }

// beforePublish is the broker's BeforePublish hook.
func (h *holder) beforePublish(string) {
	h.mu.Lock()
	g := h.gate
	h.mu.Unlock()
	if g == nil {
		return
	}
	h.queued <- struct{}{}
	<-g
}

// hold holds back the records sent from now on.
func (h *holder) hold() {
	h.mu.Lock()
	h.gate = make(chan struct{})
	h.mu.Unlock()
}

// release lets the held records go, and the later ones.
func (h *holder) release() {
	h.mu.Lock()
	close(h.gate)
	h.gate = nil
	h.mu.Unlock()
}

// held waits until a record is held.
func (h *holder) held(t *testing.T) {
	t.Helper()
	select {
	case <-h.queued:
	case <-time.After(wait):
		t.Fatal("no record was held on its way to the broker")
	}
}

// startHeld starts a chat server with cfg whose broker's records h holds.
func startHeld(t *testing.T, cfg Config, h *holder) *testServer {
	t.Helper()
	cfg.Broker = openBroker(t, broker.Options{History: chatwire.HistorySize, BeforePublish: h.beforePublish})
	return startServer(t, cfg)
}

// withTextOnItsWay starts a server with Alice and Bob in one room and
// Alice's text on its way to the broker, held there until h.release.
func withTextOnItsWay(t *testing.T, text string) (ts *testServer, h *holder, alice, bob *client) {
	t.Helper()
	h = newHolder()
	ts = startHeld(t, Config{}, h)
	alice = ts.join(t, "Alice", "")
	bob = ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	h.hold()
	alice.say(text)
	h.held(t)
	return ts, h, alice, bob
}

func TestTextIsDeliveredOnlyOnceStored(t *testing.T) {
	ts, h, alice, bob := withTextOnItsWay(t, "pending")
	// Carol joins while the text is on its way to the broker: it is not
	// in her history (nobody has seen it), and she gets it live with the
	// others.
	carol := ts.join(t, "Carol", "")
	select {
	case m := <-carol.msgs:
		t.Fatalf("before the text was stored Carol got %s %q", m.GetKind(), m.GetMessage())
	default:
	}
	h.release()
	// Everything after the text (Carol's join) waited behind it.
	bob.expectText("Alice", "pending")
	bob.expect(kJoin, "Carol joined the room")
	carol.expectText("Alice", "pending")
	alice.expect(kJoin, "Carol joined the room")
}

// Every text a member receives is already stored in JetStream: a text said
// while the broker is held back reaches nobody, not even the history a
// newcomer is shown, until the broker has stored it.
func TestReceivedTextIsStored(t *testing.T) {
	h := newHolder()
	ts := startHeld(t, Config{}, h)
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")

	h.hold()
	alice.say("durable")
	h.held(t)
	carol := ts.join(t, "Carol", "") // no history block: nothing is stored
	h.release()
	for _, c := range []*client{bob, carol} {
		m := c.expectText("Alice", "durable")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		last, err := ts.svc.broker.LastSeq(ctx, "general")
		cancel()
		if err != nil || last < m.GetSeq() {
			t.Fatalf("seq %d received but the broker's last is %d (%v)", m.GetSeq(), last, err)
		}
	}
	bob.expect(kJoin, "Carol joined the room")
}

// Sessions survive a restart on the broker's store: a member comes back
// with its name, and a newcomer cannot take it during the grace period.
func TestResumeAfterRestart(t *testing.T) {
	ts := startRestartable(t, t.TempDir(), Config{ResumeGrace: grace})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	alice.say("before")
	seen := bob.expectText("Alice", "before")
	alice.say("unseen")
	bob.expectText("Alice", "unseen")
	epoch := ts.svc.epoch
	ts2 := ts.restart(t, Config{ResumeGrace: grace}, bob.client, alice.client)
	if ts2.svc.epoch != epoch {
		t.Fatalf("epoch %q after restart, %q before", ts2.svc.epoch, epoch)
	}
	carol := ts2.joinDroppable(t, "Bob")
	if carol.welcome.GetMessage() != "Welcome, Bob(2)! You are in room general." {
		t.Fatalf("newcomer took a reserved name: %q", carol.welcome.GetMessage())
	}
	back := ts2.joinDroppable(t, "x", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken(),
		chatwire.ResumeFromKey, resumeFrom(epoch, seen.GetSeq()))
	if back.welcome.GetMessage() != "Welcome back, Bob! You are in room general." {
		t.Fatalf("welcome after restart: %q", back.welcome.GetMessage())
	}
	back.expectText("Alice", "unseen")
	carol.say("hi")
	back.expectText("Bob(2)", "hi")
}

// bobDroppedInRoomR runs a server where Bob said "kept" in room r and was
// connected when the server stopped (Alice, who saw it, left first), and
// starts a server with cfg on what it kept.
func bobDroppedInRoomR(t *testing.T, cfg Config) *restartable {
	t.Helper()
	ts := startRestartable(t, t.TempDir(), Config{ResumeGrace: grace})
	alice := ts.join(t, "Alice", "r")
	bob := ts.joinDroppable(t, "Bob", chatwire.RoomKey, "r")
	alice.expect(kJoin, "Bob joined the room")
	bob.say("kept")
	alice.expectText("Bob", "kept")
	alice.leave() // a leave: her session ends with it
	return ts.restart(t, cfg, bob.client)
}

// After a restart a member that does not come back loses its name when its
// grace period, counted from the restart, ends; its room, with history,
// stays a room.
func TestRestoredSessionExpires(t *testing.T) {
	ts := bobDroppedInRoomR(t, Config{ResumeGrace: 200 * time.Millisecond, MaxRooms: 1})
	waitFor(t, "Bob's restored session to expire", func() bool {
		ts.svc.sessMu.Lock()
		defer ts.svc.sessMu.Unlock()
		return len(ts.svc.sessions) == 0
	})
	// Room r is idle with its history: it still counts against MaxRooms.
	if err := refusal(t, ts.testServer, "Eve", "other"); code(err) != codes.ResourceExhausted {
		t.Fatalf("a second room with MaxRooms 1: %v", err)
	}
	bob := ts.join(t, "Bob", "r") // the name is free again
	bob.expect(kStart, "")
	bob.expectText("Bob", "kept")
	bob.expect(kEnd, "")
}

// endRestoredGrace ends the grace period of Bob's session, restored after
// a restart, as its timer would.
func endRestoredGrace(t *testing.T, svc *Service) {
	t.Helper()
	var bob *session
	waitFor(t, "Bob's session to be taken over", func() bool {
		svc.sessMu.Lock()
		var all []*session
		for _, s := range svc.sessions {
			all = append(all, s)
		}
		svc.sessMu.Unlock()
		svc.mu.Lock()
		defer svc.mu.Unlock()
		for _, s := range all {
			r := s.member.room
			r.mu.Lock()
			if s.member.name == "Bob" && s.member.dropped {
				bob = s
				s.timer.Stop()
			}
			r.mu.Unlock()
		}
		return bob != nil
	})
	svc.expire(bob, bob.member)
}

// The members in the room of a restored session are told it left when its
// grace period ends.
func TestTheEndOfARestoredSessionIsToldToItsRoom(t *testing.T) {
	ts := bobDroppedInRoomR(t, Config{ResumeGrace: grace})
	watcher := ts.join(t, "Watcher", "r")
	watcher.expect(kStart, "")
	watcher.expectText("Bob", "kept")
	watcher.expect(kEnd, "")
	endRestoredGrace(t, ts.svc)
	watcher.expect(kLeave, "Bob left the room")
}

// A restored session's room that nobody joins stays a room with history
// (idle, counted against MaxRooms) once the session expires.
func TestRestoredRoomKeepsItsHistoryWhenTheSessionExpires(t *testing.T) {
	ts := bobDroppedInRoomR(t, Config{ResumeGrace: grace, MaxRooms: 1})
	svc := ts.svc
	endRestoredGrace(t, svc)
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if svc.idle["r"] == nil || svc.rooms["r"] != nil {
		t.Fatalf("room r after its last session expired: idle %v, open %v", svc.idle["r"], svc.rooms["r"])
	}
}

func TestLinesResentAfterTheGraceEndedAreRelayedOnce(t *testing.T) {
	ts := startServer(t, Config{ResumeGrace: 50 * time.Millisecond})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	sendWithID(t, bob.client, "id-1", "arrived")
	alice.expectText("Bob", "arrived")
	bob.drop()
	alice.expect(kLeave, "Bob left the room")

	// Back after the grace, as a new member: the line that arrived is
	// resent with the one that did not, and relayed once.
	late := ts.openDroppable(t, chatwire.UserKey, "Bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	late.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
	late.expect(kSys, "Welcome, Bob! You are in room general.")
	alice.expect(kJoin, "Bob joined the room")
	sendWithID(t, late.client, "id-1", "arrived")
	sendWithID(t, late.client, "id-2", "cut off")
	alice.expectText("Bob", "cut off")

	// The ids belong to the expired token's holder only, and are claimed
	// once: another member, or the same token again, may use them.
	other := ts.openDroppable(t, chatwire.UserKey, "Carol", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	other.expect(kSys, "Could not resume: the session has expired or is unknown; joined as a new member")
	other.expect(kSys, "Welcome, Carol! You are in room general.")
	alice.expect(kJoin, "Carol joined the room")
	sendWithID(t, other.client, "id-1", "mine")
	alice.expectText("Carol", "mine")
}

func TestExpiredSessionsAreBounded(t *testing.T) {
	e := newExpiredSessions()
	now := time.Unix(1000, 0)
	seen := func(ids ...string) *recentIDs {
		r := newRecentIDs()
		for _, id := range ids {
			r.add(id)
		}
		return r
	}
	for i := range expiredSessionsKept + 10 {
		e.add(&session{id: fmt.Sprint("s", i), room: "general", seen: seen("a")}, now)
	}
	if n := e.order.Len(); n != expiredSessionsKept {
		t.Fatalf("%d expired sessions kept, want %d", n, expiredSessionsKept)
	}
	if ids := e.take("s0", "general", "", now); ids != nil {
		t.Fatalf("the oldest session beyond the bound was kept: %v", ids)
	}
	if ids := e.take("s20", "other", "", now); ids != nil {
		t.Fatalf("ids claimed for another room: %v", ids)
	}
	if ids := e.take("s20", "general", "mallory", now); ids != nil {
		t.Fatalf("ids claimed for another user: %v", ids)
	}
	if ids := e.take("s20", "general", "", now.Add(expiredSessionTTL)); ids != nil {
		t.Fatalf("ids kept past their time: %v", ids)
	}

	many := newRecentIDs()
	for i := range recentIDsSize + 5 {
		many.add(fmt.Sprint("id", i))
	}
	e.add(&session{id: "busy", room: "general", seen: many}, now)
	ids := e.take("busy", "general", "", now)
	if len(ids) != expiredIDsKept || ids[0] != fmt.Sprint("id", recentIDsSize+5-expiredIDsKept) || ids[len(ids)-1] != fmt.Sprint("id", recentIDsSize+4) {
		t.Fatalf("kept %d ids, %v … %v; want the last %d in order", len(ids), ids[0], ids[len(ids)-1], expiredIDsKept)
	}
}

// resumeCounts is a Metrics that counts the resume events.
type resumeCounts struct {
	noMetrics
	mu                             sync.Mutex
	dropped, resumed, graceExpired int
	refused                        map[string]int
}

func (c *resumeCounts) MemberDropped() { c.mu.Lock(); c.dropped++; c.mu.Unlock() }
func (c *resumeCounts) MemberResumed() { c.mu.Lock(); c.resumed++; c.mu.Unlock() }
func (c *resumeCounts) GraceExpired()  { c.mu.Lock(); c.graceExpired++; c.mu.Unlock() }
func (c *resumeCounts) ResumeRefused(r string) {
	c.mu.Lock()
	c.refused[r]++
	c.mu.Unlock()
}

func (c *resumeCounts) get() (dropped, resumed, expired int, refused map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped, c.resumed, c.graceExpired, maps.Clone(c.refused)
}

// waitFor polls cond until it holds; the test fails after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResumesAreCounted(t *testing.T) {
	counts := &resumeCounts{refused: make(map[string]int)}
	ts := startServer(t, Config{ResumeGrace: grace, Metrics: counts})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")

	bob.drop()
	waitFor(t, "the drop to be counted", func() bool { d, _, _, _ := counts.get(); return d == 1 })
	back := ts.joinDroppable(t, "Bob", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken())
	if !back.welcome.GetResumed() {
		t.Fatalf("not resumed: %v", back.welcome)
	}
	ts.joinDroppable(t, "Carol", chatwire.ResumeTokenKey, bob.welcome.GetResumeToken()+"x")
	ts.openDroppable(t, chatwire.UserKey, "Dan", chatwire.RoomKey, "elsewhere",
		chatwire.ResumeTokenKey, back.welcome.GetResumeToken()).expect(kSys, "Could not resume: the token is for another room; joined as a new member")

	dropped, resumed, expired, refused := counts.get()
	want := map[string]int{ResumeUnknown: 1, ResumeOtherRoom: 1}
	if dropped != 1 || resumed != 1 || expired != 0 || !maps.Equal(refused, want) {
		t.Fatalf("dropped %d resumed %d expired %d refused %v; want 1 1 0 %v", dropped, resumed, expired, refused, want)
	}
}

func TestAnEndedGraceIsCounted(t *testing.T) {
	counts := &resumeCounts{refused: make(map[string]int)}
	ts := startServer(t, Config{ResumeGrace: 50 * time.Millisecond, Metrics: counts})
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	bob.drop()
	alice.expect(kLeave, "Bob left the room")
	if dropped, resumed, expired, _ := counts.get(); dropped != 1 || resumed != 0 || expired != 1 {
		t.Fatalf("dropped %d resumed %d expired %d; want 1 0 1", dropped, resumed, expired)
	}
}

// The shutdown notice reaches every member at once, even one whose room has
// a text still on its way to the broker: the notice does not wait behind
// it (the stream ends, and the text is in history for the resume).
func TestShutdownNoticeDoesNotWaitBehindATextOnItsWay(t *testing.T) {
	ts, h, alice, bob := withTextOnItsWay(t, "just before")
	ts.svc.Shutdown()
	alice.expect(kSys, "Server is shutting down")
	bob.expect(kSys, "Server is shutting down")
	h.release()
}

// A text of this node's that the stream stored but discarded before this
// node read it back (its reader lagged the room by more than the stream
// keeps) goes out once a later text comes back: what was held behind it
// does not wait for ever.
func TestATextTheStreamSkippedDoesNotHoldUpTheRoom(t *testing.T) {
	ts := startServer(t, Config{History: 1})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	alice.say("first")
	first := bob.expectText("Alice", "first")
	ts.svc.mu.Lock()
	r := ts.svc.rooms[chatwire.DefaultRoom]
	ts.svc.mu.Unlock()
	// Alice's text "skipped": stored with first's seq, never read back.
	r.mu.Lock()
	var alicem *member
	for _, m := range r.members {
		if m.name == "Alice" {
			alicem = m
		}
	}
	lost := ts.svc.message(r.name, "Alice", kText, "skipped", nil)
	lost.Seq = first.GetSeq()
	_, stored := ts.svc.holdLocked(r, lost, alicem)
	stored()
	r.mu.Unlock()
	alice.say("after")
	bob.expectText("Alice", "skipped")
	bob.expectText("Alice", "after")
}
