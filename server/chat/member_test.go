package chat

import (
	"testing"
	"time"

	"google.golang.org/grpc"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// recordingStream is the server side of a stream that records what is sent;
// with gate set, each SendMsg first waits for a value on it.
type recordingStream struct {
	grpc.ServerStream
	gate    chan struct{}
	entered chan struct{} // one value per SendMsg call, before it waits
	sent    chan string
}

func newRecordingStream(gated bool) *recordingStream {
	rs := &recordingStream{entered: make(chan struct{}, 64), sent: make(chan string, 64)}
	if gated {
		rs.gate = make(chan struct{})
	}
	return rs
}

func (rs *recordingStream) SendMsg(m any) error {
	rs.entered <- struct{}{}
	if rs.gate != nil {
		<-rs.gate
	}
	rs.sent <- m.(*outgoing).GetMessage()
	return nil
}

func text(s string) *outgoing {
	return encode(&chatpb.ChatMessage{Message: s})
}

// outboxMember is a member with a queue of limit, sending on out.
func outboxMember(out grpc.ServerStream, limit int) *member {
	m := newMember(1, "test", newRoom("r", limit), limit)
	m.out = out
	return m
}

func (rs *recordingStream) expectSent(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-rs.sent:
			if got != w {
				t.Fatalf("sent %q, want %q", got, w)
			}
		case <-time.After(wait):
			t.Fatalf("nothing sent, want %q", w)
		}
	}
}

func TestWriterRunsOnlyWhileThereIsSomethingToSend(t *testing.T) {
	rs := newRecordingStream(false)
	m := outboxMember(rs, 8)
	for _, s := range []string{"one", "two", "three"} {
		if !m.push(text(s)) {
			t.Fatalf("push %q refused", s)
		}
	}
	m.writer.Wait() // returns once the writer found the queue empty
	rs.expectSent(t, "one", "two", "three")
	if m.writing {
		t.Fatal("writer still marked running with nothing to send")
	}
	m.push(text("four")) // a new writer picks it up
	m.writer.Wait()
	rs.expectSent(t, "four")
}

func TestPreambleGoesFirstAndDoesNotCountAgainstTheQueue(t *testing.T) {
	rs := newRecordingStream(false)
	m := outboxMember(rs, 1)
	m.preamble = []*outgoing{text("welcome"), text("h1"), text("h2")}
	if !m.push(text("live")) {
		t.Fatal("push refused with the preamble pending")
	}
	m.writer.Wait()
	rs.expectSent(t, "welcome", "h1", "h2", "live")
}

func TestFullQueueRefusesWithoutBlocking(t *testing.T) {
	rs := newRecordingStream(true)
	m := outboxMember(rs, 2)
	m.push(text("taken by the writer"))
	<-rs.entered // the writer holds it inside SendMsg
	if !m.push(text("q1")) || !m.push(text("q2")) {
		t.Fatal("queue of 2 refused its first two messages")
	}
	if m.push(text("overflow")) {
		t.Fatal("a full queue took one more message")
	}
	for range 3 {
		rs.gate <- struct{}{}
	}
	m.writer.Wait()
	rs.expectSent(t, "taken by the writer", "q1", "q2")
}

func TestStopWriterDoesNotWaitForAStuckSend(t *testing.T) {
	rs := newRecordingStream(true)
	m := outboxMember(rs, 4)
	m.push(text("stuck"))
	m.push(text("never sent"))
	<-rs.entered
	m.stopWriter() // must return although SendMsg has not
	if !m.push(text("after stop")) {
		t.Fatal("a stopped member refused a message instead of dropping it")
	}
	rs.gate <- struct{}{} // gRPC would fail the send once the handler returned
	m.writer.Wait()
	rs.expectSent(t, "stuck")
	select {
	case got := <-rs.sent:
		t.Fatalf("sent %q after the writer was stopped", got)
	default:
	}
}

func TestLeaveMarkerEndsAfterWhatWasQueued(t *testing.T) {
	rs := newRecordingStream(false)
	m := outboxMember(rs, 4)
	m.push(text("before"))
	m.push(leaveMarker)
	m.writer.Wait()
	rs.expectSent(t, "before")
	select {
	case <-m.ended:
	default:
		t.Fatal("member did not end after its leave marker")
	}
	if m.err != nil {
		t.Fatalf("leave ended with %v, want OK", m.err)
	}
}
