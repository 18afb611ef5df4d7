package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// chatGoroutines returns the stacks of the goroutines running a method of
// svc: the ones other tests left behind, finishing, do not count.
func chatGoroutines(svc *Service) []string {
	self := fmt.Sprintf("(*Service).%%s(%p, ", svc)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		for _, method := range []string{"ChatStream", "read", "stay"} {
			if strings.Contains(string(g), fmt.Sprintf(self, method)) {
				gs = append(gs, string(g))
				break
			}
		}
	}
	return gs
}

// An idle member, whose writer has nothing to send, costs one goroutine: the
// stream's handler, which reads too. Each goroutine keeps a stack of 8 KB
// or more, the largest part of an idle member's memory.
func TestIdleMemberCostsOneGoroutine(t *testing.T) {
	ts := startServer(t, Config{})
	const members = 20
	clients := make([]*client, members)
	for i := range clients {
		clients[i] = ts.join(t, fmt.Sprintf("idle%d", i), "")
	}
	for i, c := range clients {
		// Everyone has been told of everyone who joined after: each
		// writer has sent what it had.
		for j := i + 1; j < members; j++ {
			c.expect(kJoin, fmt.Sprintf("idle%d joined the room", j))
		}
	}
	// A writer that sent its last message returns right after: wait for
	// that, not for a count that would come anyway.
	deadline := time.Now().Add(10 * time.Second)
	got := chatGoroutines(ts.svc)
	for len(got) > members && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = chatGoroutines(ts.svc)
	}
	if len(got) != members {
		t.Fatalf("%d idle members run %d goroutines of the chat, want %d:\n\n%s", members, len(got), members,
			strings.Join(got, "\n\n"))
	}
}

// plainTransportStream is a grpc.ServerTransportStream that cannot write a
// status ahead of the handler.
type plainTransportStream struct{ grpc.ServerTransportStream }

// hiddenTransport is a stream whose context holds a plainTransportStream.
type hiddenTransport struct {
	grpc.ServerStream
	ctx context.Context
}

func (h hiddenTransport) Context() context.Context { return h.ctx }

// A stream whose transport cannot write its status early keeps a reader
// goroutine beside the handler, and behaves the same.
func TestStreamWithoutEarlyFinishReadsOnAGoroutine(t *testing.T) {
	hide := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		ctx = grpc.NewContextWithServerTransportStream(ctx, plainTransportStream{grpc.ServerTransportStreamFromContext(ctx)})
		return handler(srv, hiddenTransport{ss, ctx})
	}
	ts := startServer(t, Config{}, grpc.StreamInterceptor(hide))
	alice := ts.join(t, "Alice", "")
	bob := ts.join(t, "Bob", "")
	alice.expect(kJoin, "Bob joined the room")
	bob.say("Hi Alice!")
	alice.expectText("Bob", "Hi Alice!")
	if got := chatGoroutines(ts.svc); len(got) != 4 {
		t.Fatalf("2 members run %d goroutines of the chat, want 4 (handler and reader each)", len(got))
	}
	if err := bob.stream.Send(&chatpb.ChatMessage{Kind: kLeave}); err != nil {
		t.Fatal(err)
	}
	alice.expect(kLeave, "Bob left the room")
	if err := bob.end(); !errors.Is(err, io.EOF) {
		t.Fatalf("leaving stream ended with %v, want OK", err)
	}
	ts.svc.Shutdown()
	alice.expect(kSys, "Server is shutting down")
	if err := alice.end(); status.Code(err) != codes.Unavailable {
		t.Fatalf("stream ended with %v, want UNAVAILABLE", err)
	}
}
