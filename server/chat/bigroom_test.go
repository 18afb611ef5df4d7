package chat

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// In a big room, joins and leaves are counted, not announced one by one,
// and summed up in one notice per interval; text is not held up by them.
func TestBigRoomSumsUpJoinsAndLeaves(t *testing.T) {
	ts := startServer(t, Config{BigRoom: 3, BigRoomSummary: time.Hour}) // flushed by hand
	watcher := ts.join(t, "Watcher", "big")
	a := ts.join(t, "A", "big")
	watcher.expect(kJoin, "A joined the room") // 2 members with A: small
	ts.join(t, "B", "big")                     // 3 with B: big
	ts.join(t, "C", "big")
	ts.join(t, "D", "big").leave()
	ts.flushNotices("big")
	watcher.expect(kSys, "3 joined and 1 left the room (too many to list one by one)")
	a.expect(kSys, "3 joined and 1 left the room (too many to list one by one)")
	a.say("hello")
	watcher.expectText("A", "hello")

	// A small room next to it still names everyone.
	w := ts.join(t, "Watcher", "small")
	ts.join(t, "X", "small")
	w.expect(kJoin, "X joined the room")
}

// The summary of a big room is sent by itself once per interval.
func TestBigRoomSummaryComesByItself(t *testing.T) {
	ts := startServer(t, Config{BigRoom: 2, BigRoomSummary: 10 * time.Millisecond})
	watcher := ts.join(t, "Watcher", "big")
	ts.join(t, "A", "big")
	ts.join(t, "B", "big")
	var joined int
	for joined < 2 {
		m := watcher.expect(kSys, "")
		n := summed(t, m.GetMessage())
		joined += n
	}
	if joined != 2 {
		t.Fatalf("summaries counted %d joins, want 2", joined)
	}
}

// summaryJoins matches a summary's count of joins.
var summaryJoins = regexp.MustCompile(`^(\d+) joined the room \(too many to list one by one\)$`)

// summed returns the number of joins summary sums up.
func summed(t *testing.T, summary string) int {
	t.Helper()
	sm := summaryJoins.FindStringSubmatch(summary)
	if sm == nil {
		t.Fatalf("not a summary of joins: %q", summary)
	}
	n, _ := strconv.Atoi(sm[1])
	return n
}

// A node sums up the joins it saw in a big room for every node's members:
// the summary travels through the broker like any notice.
func TestClusterBigRoomSummaryReachesOtherNodes(t *testing.T) {
	nodes := cluster(t, 2, Config{BigRoom: 3, BigRoomSummary: time.Hour})
	watcher := nodes[0].join(t, "Watcher", "big")
	// On node 1, C and D find 3 or more members with them there alone;
	// A and B may find the room big through the directory too.
	for _, name := range []string{"A", "B", "C", "D"} {
		nodes[1].join(t, name, "big")
	}
	nodes[1].flushNotices("big")
	joined := 0
	for joined < 4 {
		m := watcher.next()
		switch {
		case m.GetKind() == kJoin && (m.GetMessage() == "A joined the room" || m.GetMessage() == "B joined the room"):
			joined++
		case m.GetKind() == kSys:
			joined += summed(t, m.GetMessage())
		default:
			t.Fatalf("got %s %q, want a join of A or B or a summary", m.GetKind(), m.GetMessage())
		}
	}
	if joined != 4 {
		t.Fatalf("the watcher was told of %d joins, want 4", joined)
	}
}
