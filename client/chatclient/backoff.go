package chatclient

import (
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/backoff"

	"github.com/polychat/polychat/internal/chatwire"
)

// DefaultReconnectMaxDelay is the longest wait between two attempts to
// reconnect when a Config names none.
const DefaultReconnectMaxDelay = chatwire.ReconnectMaxDelayMs * time.Millisecond

// ReconnectBackoff returns gRPC's connection backoff (initial 1s,
// multiplier 1.6, jitter 0.2; see package chatwire) with maxDelay as the
// longest wait; maxDelay <= 0 means DefaultReconnectMaxDelay.
func ReconnectBackoff(maxDelay time.Duration) backoff.Config {
	if maxDelay <= 0 {
		maxDelay = DefaultReconnectMaxDelay
	}
	return backoff.Config{
		BaseDelay:  chatwire.ReconnectBaseDelayMs * time.Millisecond,
		Multiplier: chatwire.ReconnectMultiplierPercent / 100.0,
		Jitter:     chatwire.ReconnectJitterPercent / 100.0,
		MaxDelay:   maxDelay,
	}
}

// schedule is the jittered exponential schedule of gRPC's connection
// backoff (https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md):
// the first attempt is at once, and the wait before attempt n+1 is
// BaseDelay * Multiplier^(n-1), capped at MaxDelay, then moved at random by
// up to Jitter of itself either way. gRPC's own implementation is internal
// to grpc-go, so this is written out here, with its randomness injectable.
type schedule struct {
	cfg backoff.Config
	// random returns a number in [0, 1); nil means math/rand/v2.
	random func() float64
}

// delay returns how long to wait before the attempt that follows failed
// earlier attempts (0 for the first attempt).
func (s schedule) delay(failed int) time.Duration {
	if failed <= 0 {
		return 0
	}
	d, limit := float64(s.cfg.BaseDelay), float64(s.cfg.MaxDelay)
	for i := 1; i < failed && d < limit; i++ {
		d *= s.cfg.Multiplier
	}
	if d > limit {
		d = limit
	}
	random := s.random
	if random == nil {
		random = rand.Float64
	}
	d *= 1 + s.cfg.Jitter*(2*random()-1)
	if d < 0 {
		return 0
	}
	return time.Duration(d)
}
