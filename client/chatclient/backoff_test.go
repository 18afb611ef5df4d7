package chatclient

import (
	"testing"
	"time"

	"google.golang.org/grpc/backoff"
)

func TestReconnectBackoffIsGRPCs(t *testing.T) {
	got := ReconnectBackoff(0)
	want := backoff.DefaultConfig
	want.MaxDelay = 30 * time.Second
	if got != want {
		t.Errorf("ReconnectBackoff(0) = %+v, want gRPC's defaults with a 30s cap: %+v", got, want)
	}
	if got := ReconnectBackoff(5 * time.Second).MaxDelay; got != 5*time.Second {
		t.Errorf("MaxDelay = %v, want the cap asked for", got)
	}
}

func TestScheduleGrowsAndCaps(t *testing.T) {
	s := schedule{cfg: ReconnectBackoff(10 * time.Second), random: func() float64 { return 0.5 }} // no jitter
	want := []time.Duration{0, time.Second, 1600 * time.Millisecond, 2560 * time.Millisecond,
		4096 * time.Millisecond, 6553600 * time.Microsecond, 10 * time.Second, 10 * time.Second}
	for failed, w := range want {
		if got := s.delay(failed); got != w {
			t.Errorf("delay(%d) = %v, want %v", failed, got, w)
		}
	}
	if got := s.delay(1000); got != 10*time.Second {
		t.Errorf("delay(1000) = %v, want the cap", got)
	}
}

func TestScheduleJitter(t *testing.T) {
	cfg := ReconnectBackoff(30 * time.Second)
	for _, tc := range []struct {
		random float64
		want   time.Duration
	}{
		{0, 800 * time.Millisecond},    // -20%
		{0.25, 900 * time.Millisecond}, // -10%
		{0.75, 1100 * time.Millisecond},
		{0.999999, 1199999600 * time.Nanosecond}, // just under +20%
	} {
		s := schedule{cfg: cfg, random: func() float64 { return tc.random }}
		if got := s.delay(1); got != tc.want {
			t.Errorf("random %v: delay(1) = %v, want %v", tc.random, got, tc.want)
		}
	}
	// The real randomness stays within the jitter.
	s := schedule{cfg: cfg}
	for range 1000 {
		if d := s.delay(3); d < 2048*time.Millisecond || d > 3072*time.Millisecond {
			t.Fatalf("delay(3) = %v, want 2.56s ± 20%%", d)
		}
	}
}
