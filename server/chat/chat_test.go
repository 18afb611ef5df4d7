package chat

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

const (
	kText  = chatpb.ChatMessage_KIND_TEXT
	kJoin  = chatpb.ChatMessage_KIND_JOIN
	kLeave = chatpb.ChatMessage_KIND_LEAVE
	kSys   = chatpb.ChatMessage_KIND_SYSTEM
	kStart = chatpb.ChatMessage_KIND_HISTORY_START
	kEnd   = chatpb.ChatMessage_KIND_HISTORY_END
)

func TestRelayWithoutEcho(t *testing.T) {
	for _, withCodec := range []bool{true, false} {
		t.Run(fmt.Sprintf("codec=%v", withCodec), func(t *testing.T) {
			// Without CodecOption the standard codec marshals per send.
			ts := startServerCodec(t, Config{}, withCodec)
			alice := ts.join(t, "Alice", "")
			bob := ts.join(t, "Bob", "")
			alice.expect(kJoin, "Bob joined the room")

			alice.say("Hi Bob!")
			m := bob.expectText("Alice", "Hi Bob!")
			if m.GetRoom() != "general" || m.GetId() == 0 || m.GetSentAt() == nil || m.GetTimestamp() == 0 {
				t.Fatalf("relayed message lacks server fields: %v", m)
			}
			bob.say("Hi Alice!")
			// Alice's own text would have been queued before Bob's.
			alice.expectText("Bob", "Hi Alice!")
			bob.stream.CloseSend()
			alice.say("still there?")
			bob.expectText("Alice", "still there?") // half-closed, still a member
		})
	}
}

func TestLeaveAfterEverythingSentBefore(t *testing.T) {
	ts := startServer(t, Config{})
	stay := ts.join(t, "Stay", "")
	bye := ts.join(t, "Bye", "")
	stay.expect(kJoin, "Bye joined the room")

	bye.say("last words")
	if err := bye.stream.Send(&chatpb.ChatMessage{Kind: kLeave}); err != nil {
		t.Fatal(err)
	}
	stay.expectText("Bye", "last words")
	stay.expect(kLeave, "Bye left the room")
	if err := bye.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("leaving stream ended with %v, want OK", err)
	}
}

func TestLeavingAtOnceStillGetsWhatWasQueued(t *testing.T) {
	ts := startServer(t, Config{})
	st := ts.open(t, nil, chatwire.UserKey, "Brief")
	if err := st.Send(&chatpb.ChatMessage{Kind: kLeave}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, st)
	c.expect(kSys, "Welcome, Brief! You are in room general.")
	if err := c.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want OK", err)
	}
}

func TestRoomsAreIsolated(t *testing.T) {
	ts := startServer(t, Config{})
	red1 := ts.join(t, "r1", "red")
	red2 := ts.join(t, "r2", "red")
	red1.expect(kJoin, "r2 joined the room")
	blue1 := ts.join(t, "b1", "blue")
	blue2 := ts.join(t, "b2", "blue")
	blue1.expect(kJoin, "b2 joined the room")

	blue2.say("blue text")
	if m := blue1.expectText("b2", "blue text"); m.GetRoom() != "blue" {
		t.Fatalf("room = %q", m.GetRoom())
	}
	red1.say("red text")
	if m := red2.expectText("r1", "red text"); m.GetRoom() != "red" {
		t.Fatalf("room = %q", m.GetRoom())
	}
}

func TestUnnamedClientGetsClientN(t *testing.T) {
	ts := startServer(t, Config{})
	c := newClient(t, ts.open(t, nil))
	m := c.expect(kSys, "Welcome, Client(1)! You are in room general.")
	if m.GetUser() != SystemUser {
		t.Fatalf("welcome from %q", m.GetUser())
	}
	c2 := newClient(t, ts.open(t, nil))
	c2.expect(kSys, "Welcome, Client(2)! You are in room general.")
	c.expect(kJoin, "Client(2) joined the room")
}

func TestDuplicateNamesAreMadeDistinct(t *testing.T) {
	ts := startServer(t, Config{})
	a1 := ts.join(t, "Alice", "")
	a2 := newClient(t, ts.open(t, nil, chatwire.UserKey, "Alice"))
	a2.expect(kSys, "Welcome, Alice(2)! You are in room general.")
	a1.expect(kJoin, "Alice(2) joined the room")
	sys := newClient(t, ts.open(t, nil, chatwire.UserKey, "System"))
	sys.expect(kSys, "Welcome, System(2)! You are in room general.")
	a1.expect(kJoin, "System(2) joined the room")

	a2.say("from two")
	a1.expectText("Alice(2)", "from two")
	a1.say("from one")
	a2.expect(kJoin, "System(2) joined the room")
	a2.expectText("Alice", "from one")
}

func TestNameAdoptedFromFirstMessage(t *testing.T) {
	ts := startServer(t, Config{})
	bob := ts.join(t, "Bob", "")
	anon := newClient(t, ts.open(t, nil))
	anon.expect(kSys, "Welcome, Client(2)! You are in room general.")
	bob.expect(kJoin, "Client(2) joined the room")

	if err := anon.stream.Send(&chatpb.ChatMessage{User: "Alice", Message: "hello", Timestamp: 1}); err != nil {
		t.Fatal(err)
	}
	bob.expect(kSys, "Client(2) is now known as Alice")
	bob.expectText("Alice", "hello")
	anon.expect(kSys, "Client(2) is now known as Alice")

	// Later names are ignored: nobody speaks as somebody else.
	if err := anon.stream.Send(&chatpb.ChatMessage{User: "Bob", Message: "I am Bob"}); err != nil {
		t.Fatal(err)
	}
	bob.expectText("Alice", "I am Bob")
}

func TestListenOnlyClientReceives(t *testing.T) {
	ts := startServer(t, Config{})
	listener := ts.join(t, "", "")
	// Never sending anything, not even closing: still a member.
	talker := ts.join(t, "Talker", "")
	listener.expect(kJoin, "Talker joined the room")
	talker.say("anyone?")
	listener.expectText("Talker", "anyone?")
}

func TestBlankTextIsIgnored(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.join(t, "A", "")
	b := ts.join(t, "B", "")
	a.expect(kJoin, "B joined the room")
	b.say("")
	b.say(" \t ")
	b.say("real")
	a.expectText("B", "real")
}

func TestHistoryReplay(t *testing.T) {
	ts := startServer(t, Config{History: 3})
	alice := newClient(t, ts.open(t, nil, chatwire.UserKey, "Alice"))
	alice.expect(kSys, "Welcome, Alice! You are in room general.")
	bob := ts.join(t, "Bob", "")
	// No history yet: the first thing after Alice's welcome is Bob's join.
	alice.expect(kJoin, "Bob joined the room")
	for i := 1; i <= 5; i++ {
		alice.say(fmt.Sprintf("m%d", i))
		bob.expectText("Alice", fmt.Sprintf("m%d", i))
	}

	carol := newClient(t, ts.open(t, nil, chatwire.UserKey, "Carol"))
	welcome := carol.expect(kSys, "Welcome, Carol! You are in room general.")
	carol.expect(kStart, "--- Recent messages in general ---")
	for i := 3; i <= 5; i++ {
		m := carol.expectText("Alice", fmt.Sprintf("m%d", i))
		if m.GetId() >= welcome.GetId() {
			t.Fatalf("history id %d not older than welcome %d", m.GetId(), welcome.GetId())
		}
	}
	carol.expect(kEnd, "--- End of history ---")
	bob.say("live")
	carol.expectText("Bob", "live")

	// Rooms have their own history: none here yet.
	other := ts.join(t, "Eve", "other")
	ts.join(t, "Dave", "other")
	other.expect(kJoin, "Dave joined the room")
}

func TestHistorySurvivesRestart(t *testing.T) {
	ts := startRestartable(t, t.TempDir(), Config{})
	a := ts.join(t, "Alice", "")
	b := ts.join(t, "Bob", "")
	a.expect(kJoin, "Bob joined the room")
	a.say("before restart 1")
	b.expectText("Alice", "before restart 1")
	a.say("before restart 2")
	last := b.expectText("Alice", "before restart 2")
	ts2 := ts.restart(t, Config{}, a, b)
	c := newClient(t, ts2.open(t, nil, chatwire.UserKey, "Carol"))
	welcome := c.expect(kSys, "Welcome, Carol! You are in room general.")
	if welcome.GetId() <= last.GetId() {
		t.Fatalf("ids went back after restart: %d after %d", welcome.GetId(), last.GetId())
	}
	c.expect(kStart, "")
	c.expectText("Alice", "before restart 1")
	m := c.expectText("Alice", "before restart 2")
	if m.GetId() != last.GetId() || !m.GetSentAt().AsTime().Equal(last.GetSentAt().AsTime()) {
		t.Fatalf("replayed %v, sent %v", m, last)
	}
	c.expect(kEnd, "")
}

func TestShutdownNotice(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.join(t, "A", "")
	b := ts.join(t, "B", "red")
	ts.svc.Shutdown()
	for _, c := range []*client{a, b} {
		m := c.expect(kSys, "Server is shutting down")
		if m.GetUser() != SystemUser {
			t.Fatalf("notice from %q", m.GetUser())
		}
		if err := c.end(); code(err) != codes.Unavailable {
			t.Fatalf("stream ended with %v, want UNAVAILABLE", err)
		}
	}
	late := ts.open(t, nil)
	if err := recvUntilErr(t, late); code(err) != codes.Unavailable {
		t.Fatalf("join after shutdown: %v, want UNAVAILABLE", err)
	}
}

func TestLeaveNotice(t *testing.T) {
	ts := startServer(t, Config{})
	a := ts.join(t, "A", "")
	cc := ts.conn(t)
	b := newClient(t, ts.open(t, cc, chatwire.UserKey, "Bob"))
	b.expect(kSys, "")
	a.expect(kJoin, "Bob joined the room")
	cc.Close()
	m := a.expect(kLeave, "Bob left the room")
	if m.GetUser() != SystemUser {
		t.Fatalf("leave notice from %q", m.GetUser())
	}
	// The name is free again.
	ts.join(t, "Bob", "")
	a.expect(kJoin, "Bob joined the room")
}
