package chatclient

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func line(id string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{Message: "text " + id, ClientMsgId: id}
}

// drain takes every queued message and returns their ids, as sent.
func drain(o *outbox) string {
	var ids []string
	for {
		msg, ok := o.next()
		if !ok {
			return strings.Join(ids, " ")
		}
		o.sending(msg)
		ids = append(ids, msg.GetClientMsgId())
	}
}

func TestOutboxResendsInOrderWithTheSameIds(t *testing.T) {
	o := newOutbox(10, nil)
	o.sending(line("a")) // sent while connected
	o.sending(line("b"))
	o.lost(true)
	for _, id := range []string{"c", "d"} { // typed while disconnected
		if err := o.hold(line(id)); err != nil {
			t.Fatal(err)
		}
	}
	if n := o.waiting(); n != 2 {
		t.Errorf("waiting() = %d, want the 2 lines never sent", n)
	}
	if got := drain(o); got != "a b c d" {
		t.Errorf("sent %q after reconnecting, want the cut-off lines, then the pending ones", got)
	}
	if n := o.waiting(); n != 0 {
		t.Errorf("waiting() = %d after sending, want 0", n)
	}
	// Lost again before the server said anything: the same lines again.
	o.lost(true)
	if got := drain(o); got != "a b c d" {
		t.Errorf("sent %q after a second loss, want the same ids again", got)
	}
	// The server replayed b and c: they are not resent.
	o.arrived("b")
	o.arrived("c")
	o.lost(true)
	if got := drain(o); got != "a d" {
		t.Errorf("sent %q, want only what the server did not replay", got)
	}
	if !o.isOwn("a") || !o.isOwn("c") || o.isOwn("zz") || o.isOwn("") {
		t.Error("isOwn does not know the session's own ids")
	}
}

func TestOutboxResendsNothingToAServerWithoutDedupe(t *testing.T) {
	o := newOutbox(10, nil)
	o.sending(line("a"))
	if err := o.hold(line("b")); err != nil {
		t.Fatal(err)
	}
	o.lost(false)
	if got := drain(o); got != "b" {
		t.Errorf("sent %q, want only the line never sent", got)
	}
}

func TestOutboxPendingIsBounded(t *testing.T) {
	o := newOutbox(3, nil)
	for i := range 2 {
		o.sending(line("sent" + strconv.Itoa(i)))
	}
	o.lost(true) // resends do not count against the bound
	for i := range 3 {
		if err := o.hold(line(strconv.Itoa(i))); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	err := o.hold(line("x"))
	if !errors.Is(err, errPendingFull) {
		t.Fatalf("hold past the bound = %v, want errPendingFull", err)
	}
	if o.isOwn("x") {
		t.Error("a refused line is remembered as own")
	}
	if got := drain(o); got != "sent0 sent1 0 1 2" {
		t.Errorf("sent %q", got)
	}
	if err := o.hold(line("y")); err != nil {
		t.Errorf("hold after the queue drained = %v", err)
	}
}

func TestOutboxWindowsAreBounded(t *testing.T) {
	o := newOutbox(10, nil)
	for i := range resendWindow + 5 {
		o.sending(line(strconv.Itoa(i)))
	}
	o.lost(true)
	if got := strings.Fields(drain(o)); len(got) != resendWindow || got[0] != "5" {
		t.Errorf("resends %d lines starting at %q, want the last %d", len(got), got[0], resendWindow)
	}
	for i := range ownMemory + 1 {
		o.remember("own" + strconv.Itoa(i))
	}
	if len(o.own) != ownMemory || o.isOwn("own0") || !o.isOwn("own"+strconv.Itoa(ownMemory)) {
		t.Errorf("own ids: %d remembered, oldest kept %v", len(o.own), o.isOwn("own0"))
	}
}

func TestOutboxResendsOnlyRecentLines(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	o := newOutbox(10, func() time.Time { return clock })
	o.sending(line("old"))
	clock = clock.Add(resendAge - time.Second)
	o.sending(line("recent"))
	clock = clock.Add(2 * time.Second) // "old" is now past resendAge
	o.sending(line("new"))
	o.lost(true)
	if got := drain(o); got != "recent new" {
		t.Errorf("resends %q, want the lines of the last %v only", got, resendAge)
	}
	// A resent line's age starts over when it is sent again.
	clock = clock.Add(resendAge - time.Second)
	o.lost(true)
	if got := drain(o); got != "recent new" {
		t.Errorf("resends %q after sending them again, want both", got)
	}
}
