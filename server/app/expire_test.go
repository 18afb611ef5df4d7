package app

import (
	"context"
	"testing"
	"time"
)

// What expired while the server was down goes at start, before the first
// tick; then the sweep comes round again until the server stops.
func TestExpirySweepsAtStartThenPeriodically(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	swept := make(chan time.Time)
	done := make(chan struct{})
	started := time.Now()
	go func() {
		defer close(done)
		expire(ctx, 10*time.Millisecond, func(now time.Time) int {
			select {
			case swept <- now:
			case <-ctx.Done():
			}
			return 0
		})
	}()
	var times []time.Time
	for range 3 {
		select {
		case now := <-swept:
			times = append(times, now)
		case <-time.After(wait):
			t.Fatalf("%d sweeps in %s; want 3", len(times), wait)
		}
	}
	cancel()
	<-done
	if times[0].Before(started) || !times[1].After(times[0]) || !times[2].After(times[1]) {
		t.Fatalf("sweeps at %v", times)
	}
}

// A retention of zero keeps everything: no sweep at all.
func TestNoRetentionNoSweep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	expire(ctx, 0, func(time.Time) int {
		t.Fatal("swept with a retention of zero")
		return 0
	})
}
