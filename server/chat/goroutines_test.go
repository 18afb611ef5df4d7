package chat

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
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
