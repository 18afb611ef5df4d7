package chat

import (
	"errors"
	"io"

	"testing"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
)

// A name the broker is slow to free holds up no other room: neither the
// service-wide lock nor the room's is held meanwhile.
func TestSlowReleaseHoldsUpNoOtherRoom(t *testing.T) {
	h := newHolder()
	ts := startServer(t, Config{Broker: openBroker(t, broker.Options{History: chatwire.HistorySize, BeforeRelease: h.beforePublish})})
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
