package chat

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
)

// holdOp returns a broker Before hook that has h hold back the writes op.
func holdOp(h *holder, op broker.Op) func(broker.Op, string) {
	return func(o broker.Op, name string) {
		if o == op {
			h.beforePublish(name)
		}
	}
}

// startHolding starts a chat server with cfg whose broker calls before
// ahead of its writes (see holdOp).
func startHolding(t *testing.T, cfg Config, before func(broker.Op, string)) *testServer {
	t.Helper()
	cfg.Broker = openBroker(t, broker.Options{History: chatwire.HistorySize, Before: before})
	return startServer(t, cfg)
}

// A name the broker is slow to free holds up no other room: neither the
// service-wide lock nor the room's is held meanwhile.
func TestSlowReleaseHoldsUpNoOtherRoom(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{}, holdOp(h, broker.OpRelease))
	alice := ts.join(t, "Alice", "slow")
	stays := ts.join(t, "Stays", "slow")
	alice.expect(kJoin, "Stays joined the room")
	h.hold()
	if err := alice.stream.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE}); err != nil {
		t.Fatal(err)
	}
	h.held(t)
	// Alice's room goes on (the leave notice waits until her name is free,
	// so that whoever reads it can take the name).
	ts.join(t, "Dan", "slow")
	stays.expect(kJoin, "Dan joined the room")
	// Another room opens, is joined and talks while the release waits.
	bob := ts.join(t, "Bob", "other")
	carol := ts.join(t, "Carol", "other")
	bob.expect(kJoin, "Carol joined the room")
	carol.say("hi")
	bob.expectText("Carol", "hi")
	h.release()
	stays.expect(kLeave, "Alice left the room")
	if err := alice.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("Alice's stream ended with %v, want OK", err)
	}
}

// Deleting an idle room's history holds up no join to another room (the
// service-wide lock is not held meanwhile), and a join to that room waits
// for it, so that it never shows history about to go.
func TestSlowExpiryHoldsUpNoOtherRoom(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{RoomRetention: time.Hour}, holdOp(h, broker.OpDeleteHistory))
	alice := ts.join(t, "Alice", "old")
	bob := ts.join(t, "Bob", "old")
	alice.expect(kJoin, "Bob joined the room")
	alice.say("soon gone")
	bob.expectText("Alice", "soon gone")
	alice.leave()
	bob.leave()

	h.hold()
	expired := make(chan int, 1)
	go func() { expired <- ts.svc.ExpireIdleRooms(time.Now().Add(2 * time.Hour)) }()
	h.held(t)
	carol := ts.join(t, "Carol", "other")
	dan := ts.join(t, "Dan", "other")
	carol.expect(kJoin, "Dan joined the room")
	dan.say("still here")
	carol.expectText("Dan", "still here")
	// A join to the expiring room waits, then finds no history.
	eve := newClient(t, ts.open(t, nil, chatwire.UserKey, "Eve", chatwire.RoomKey, "old"))
	h.release()
	if n := <-expired; n != 1 {
		t.Fatalf("expired %d rooms, want 1", n)
	}
	eve.expect(chatpb.ChatMessage_KIND_SYSTEM, "Welcome, Eve! You are in room old.")
	ts.join(t, "Fay", "old")
	eve.expect(kJoin, "Fay joined the room") // no history block before it
}

// A slow reservation of message ids holds up no text: the next block is
// reserved ahead, off the room lock, while the current one lasts.
func TestSlowIDReservationHoldsUpNoText(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{}, holdIDs(h))
	alice := ts.join(t, "Alice", "busy")
	bob := ts.join(t, "Bob", "busy")
	alice.expect(kJoin, "Bob joined the room")
	h.hold()
	// Past three-quarters of the first block, short of its end.
	const texts = idBlock - 16
	var last uint64
	for i := range texts {
		text := fmt.Sprint("text ", i)
		alice.say(text)
		m := bob.expectText("Alice", text)
		if m.GetId() <= last {
			t.Fatalf("id %d after %d", m.GetId(), last)
		}
		last = m.GetId()
	}
	h.held(t)
	h.release()
	for i := range 32 { // into the next block
		text := fmt.Sprint("later ", i)
		alice.say(text)
		if m := bob.expectText("Alice", text); m.GetId() <= last {
			t.Fatalf("id %d after %d", m.GetId(), last)
		} else {
			last = m.GetId()
		}
	}
}

// A name the broker is slow to claim holds up only the member joining with
// it: its room goes on meanwhile.
func TestSlowClaimHoldsUpNoOneElse(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{}, holdOp(h, broker.OpClaim))
	alice := ts.join(t, "Alice", "busy")
	bob := ts.join(t, "Bob", "busy")
	alice.expect(kJoin, "Bob joined the room")
	h.hold()
	carol := newClient(t, ts.open(t, nil, chatwire.UserKey, "Carol", chatwire.RoomKey, "busy"))
	h.held(t)
	alice.say("go on")
	bob.expectText("Alice", "go on")
	h.release()
	carol.expect(chatpb.ChatMessage_KIND_SYSTEM, "Welcome, Carol! You are in room busy.")
	alice.expect(kJoin, "Carol joined the room")
}

// A rename the broker is slow to take holds up only the member renaming:
// its room goes on meanwhile, and its next text carries the new name.
func TestSlowRenameHoldsUpNoOneElse(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{}, holdOp(h, broker.OpClaim))
	anon := ts.join(t, "", "busy")
	bob := ts.join(t, "Bob", "busy")
	anon.expect(kJoin, "Bob joined the room")
	h.hold()
	if err := anon.stream.Send(&chatpb.ChatMessage{User: "Alicia", Message: "hello"}); err != nil {
		t.Fatal(err)
	}
	h.held(t)
	bob.say("go on")
	anon.expectText("Bob", "go on")
	h.release()
	if m := bob.expect(kSys, ""); !strings.HasSuffix(m.GetMessage(), " is now known as Alicia") {
		t.Fatalf("got %q, want the rename", m.GetMessage())
	}
	bob.expectText("Alicia", "hello")
}

// Saving a dropped member's session, when the broker is slow to, holds up
// no one: the room goes on, and the member resumes once it is saved.
func TestSlowSaveHoldsUpNoOneElse(t *testing.T) {
	h := newHolder()
	ts := startHolding(t, Config{ResumeGrace: grace}, holdOp(h, broker.OpUpdate))
	alice := ts.joinDroppable(t, "Alice")
	bob := ts.join(t, "Bob", "")
	h.hold()
	alice.drop()
	h.held(t)
	carol := ts.join(t, "Carol", "")
	bob.expect(kJoin, "Carol joined the room")
	bob.say("go on")
	carol.expectText("Bob", "go on")
	h.release()
	back := ts.joinDroppable(t, "Alice", chatwire.ResumeTokenKey, alice.welcome.GetResumeToken())
	if !back.welcome.GetResumed() {
		t.Fatalf("welcome %q, want a resume", back.welcome.GetMessage())
	}
	bob.say("welcome back")
	for back.next().GetMessage() != "welcome back" { // its history first
	}
}
