package chat

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRateLimitEndsOnlyTheOffender(t *testing.T) {
	// One message per 1000 s after a burst of 2: the third message is over
	// the limit however slow the machine is.
	ts := startServer(t, Config{Rate: 0.001, Burst: 2})
	calm := ts.join(t, "Calm", "")
	fast := ts.join(t, "Fast", "")
	calm.expect(kJoin, "Fast joined the room")
	other := ts.join(t, "Other", "")
	calm.expect(kJoin, "Other joined the room")
	fast.expect(kJoin, "Other joined the room")

	fast.say("one")
	fast.say("two")
	fast.say("three")
	err := fast.end()
	if code(err) != codes.ResourceExhausted || status.Convert(err).Message() != "sending too fast: at most 0.001 messages per second" {
		t.Fatalf("offender ended with %v, want RESOURCE_EXHAUSTED", err)
	}
	calm.expectText("Fast", "one")
	calm.expectText("Fast", "two")
	calm.expect(kLeave, "Fast left the room")

	// The others are unaffected: each has its own bucket.
	other.expectText("Fast", "one")
	other.expectText("Fast", "two")
	other.expect(kLeave, "Fast left the room")
	other.say("still here")
	calm.expectText("Other", "still here")
	calm.say("me too")
	other.expectText("Calm", "me too")
}

func TestRateLimitMessage(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want string
	}{
		{20, "sending too fast: at most 20 messages per second"},
		{1, "sending too fast: at most 1 message per second"},
		{2.5, "sending too fast: at most 2.5 messages per second"},
	} {
		s := startServer(t, Config{Rate: tc.rate}).svc
		if got := status.Convert(s.errTooFast).Message(); got != tc.want {
			t.Errorf("rate %v: %q, want %q", tc.rate, got, tc.want)
		}
	}
	if s := startServer(t, Config{}).svc; s.errTooFast != nil {
		t.Error("no rate, yet an error")
	}
}
