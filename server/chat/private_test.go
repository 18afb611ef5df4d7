package chat

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

const (
	kAction  = chatpb.ChatMessage_KIND_ACTION
	kPrivate = chatpb.ChatMessage_KIND_PRIVATE
)

// streamEnds is Metrics that reports each stream's end, once the server
// has handled it.
type streamEnds struct {
	noMetrics
	codes chan codes.Code
}

func (s streamEnds) StreamEnded(c codes.Code) { s.codes <- c }

// received is Metrics that reports each message a client sent.
type received struct {
	noMetrics
	messages chan struct{}
}

func (r received) MessageReceived() { r.messages <- struct{}{} }

// whisper sends a private message to recipient.
func (c *client) whisper(recipient, text string) {
	c.t.Helper()
	if err := c.stream.Send(&chatpb.ChatMessage{Kind: kPrivate, Recipient: recipient, Message: text}); err != nil {
		c.t.Fatal(err)
	}
}

// A private message reaches its recipient and the sender's echo, and
// nobody else: the third member's next message is the text sent after it.
func TestPrivateMessageReachesOnlyItsRecipient(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	carol := ts.join(t, "Carol", "")
	alice.expect(kJoin, "Bob joined the room")
	alice.expect(kJoin, "Carol joined the room")
	bob.expect(kJoin, "Carol joined the room")

	alice.whisper("bob", "psst\n") // look-alike name, trailing newline
	got := bob.expect(kPrivate, "[private from Alice] psst")
	if got.GetUser() != "Alice" || got.GetRecipient() != "Bob" || got.GetSeq() != 0 || got.GetId() == 0 {
		t.Fatalf("Bob got %v", got)
	}
	echo := alice.expect(kPrivate, "[private to Bob] psst")
	if echo.GetUser() != "Alice" || echo.GetRecipient() != "Bob" {
		t.Fatalf("Alice's echo is %v", echo)
	}

	alice.say("in public")
	carol.expectText("Alice", "in public")
	bob.expectText("Alice", "in public")

	// Not history: a late joiner sees only the public text.
	dave := ts.join(t, "Dave", "")
	dave.expect(kStart, "")
	dave.expectText("Alice", "in public")
	dave.expect(kEnd, "")
}

// A name that is nobody in the room gets the sender a notice, and the
// stream goes on.
func TestPrivateMessageToNobodyIsANotice(t *testing.T) {
	ts := startServer(t, Config{MaxNameBytes: 16})
	alice := ts.join(t, "Alice", "")
	ts.join(t, "Other", "elsewhere")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")

	for _, tc := range []struct{ to, want string }{
		{"Zed", `Nobody named "Zed" is in room general; the private message was not sent`},
		{"Other", `Nobody named "Other" is in room general; the private message was not sent`}, // another room
		{"system", `Nobody named "system" is in room general; the private message was not sent`},
		{strings.Repeat("n", 17), `Nobody named "nnnnnnnnnnnnnnnnn" is in room general; the private message was not sent`},
		{"a\u200bb", `Nobody named "a\u200bb" is in room general; the private message was not sent`}, // shown escaped
	} {
		alice.whisper(tc.to, "hello?")
		alice.expect(kSys, tc.want)
	}
	alice.say("still here")
	bob.expectText("Alice", "still here")
}

// A member whose connection dropped is not sent a private message while it
// may still resume; the sender is told.
func TestPrivateMessageToADroppedMember(t *testing.T) {
	ended := streamEnds{noMetrics{}, make(chan codes.Code, 1)}
	ts := startServer(t, Config{ResumeGrace: grace, Metrics: ended})
	alice := ts.join(t, "Alice", "")
	bob := ts.joinDroppable(t, "Bob")
	alice.expect(kJoin, "Bob joined the room")
	bob.drop()
	if c := <-ended.codes; c != codes.Canceled {
		t.Fatalf("Bob's stream ended with %v, want CANCELLED", c)
	}
	alice.whisper("Bob", "are you there?")
	alice.expect(kSys, "Bob is not connected right now; the private message was not sent")
}

// A private message to oneself is shown once, as the echo.
func TestPrivateMessageToOneself(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	alice.whisper("Alice", "note to self")
	alice.expect(kPrivate, "[private to Alice] note to self")
	// Anything else for Alice or Bob would have been queued before these.
	bob.say("marker")
	alice.expectText("Bob", "marker")
	alice.say("after")
	bob.expectText("Alice", "after")
}

// A private message resent with the same client_msg_id (its first send was
// cut off) is delivered once.
func TestPrivateMessageResentIsDeliveredOnce(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	for range 2 {
		if err := alice.stream.Send(&chatpb.ChatMessage{Kind: kPrivate, Recipient: "Bob", Message: "once", ClientMsgId: "id-1"}); err != nil {
			t.Fatal(err)
		}
	}
	alice.say("after")
	bob.expect(kPrivate, "[private from Alice] once")
	bob.expectText("Alice", "after")
	alice.expect(kPrivate, "[private to Bob] once")
}

// An action is relayed and kept like text, readable as a whole.
func TestActionIsRelayedAndKept(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	if err := alice.stream.Send(&chatpb.ChatMessage{Kind: kAction, Message: "waves\r\n"}); err != nil {
		t.Fatal(err)
	}
	got := bob.expect(kAction, "* Alice waves")
	if got.GetUser() != "Alice" || got.GetSeq() != 1 {
		t.Fatalf("Bob got %v", got)
	}
	carol := ts.join(t, "Carol", "")
	carol.expect(kStart, "")
	carol.expect(kAction, "* Alice waves")
	carol.expect(kEnd, "")
	// No echo, as for text: Alice's next message is Carol's join.
	alice.expect(kJoin, "Carol joined the room")
}

// The server trims exactly one trailing line ending; inner ones are the
// sender's.
func TestTrailingLineEndingIsTrimmed(t *testing.T) {
	ts := startServer(t, Config{})
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	for _, tc := range []struct{ sent, want string }{
		{"hello\n", "hello"},
		{"hello\r\n", "hello"},
		{"hello\r", "hello"},
		{"two\n\n", "two\n"},
		{"line one\nline two", "line one\nline two"},
		{"pasted\r\nparagraph\r\n", "pasted\r\nparagraph"},
	} {
		alice.say(tc.sent)
		bob.expectText("Alice", tc.want)
	}
	// A line ending alone is an empty line: not relayed.
	alice.say("\n")
	alice.say("after")
	bob.expectText("Alice", "after")
}

func TestTrimLineEnding(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "\n": "", "\r": "", "\r\n": "", "\n\r": "\n", "a\n\n": "a\n", "a\r\n\r\n": "a\r\n", "a": "a", "a\nb": "a\nb",
	} {
		if got := trimLineEnding(in); got != want {
			t.Errorf("trimLineEnding(%q) = %q, want %q", in, got, want)
		}
	}
}

// A private message keeps its place after a text still on its way to the
// broker, for the recipient and the sender alike.
func TestPrivateMessageWaitsBehindAHeldText(t *testing.T) {
	h := newHolder()
	got := received{noMetrics{}, make(chan struct{}, 10)}
	ts := startHeld(t, Config{Metrics: got}, h)
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	h.hold()
	bob.say("public first")
	h.held(t)
	// Counted under the room lock that the release needs: once counted,
	// a message is queued behind the text. Waiting for each in turn puts
	// the two streams' messages in a known order.
	taken := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-got.messages:
			case <-time.After(wait):
				t.Fatal("the server did not take the messages")
			}
		}
	}
	alice.whisper("Bob", "then private")
	taken(2) // the text and the private message
	bob.whisper("Nobody", "and a notice")
	taken(1)
	h.release()
	alice.expectText("Bob", "public first")
	alice.expect(kPrivate, "[private to Bob] then private")
	bob.expect(kPrivate, "[private from Alice] then private")
	bob.expect(kSys, `Nobody named "Nobody" is in room general; the private message was not sent`)
}
