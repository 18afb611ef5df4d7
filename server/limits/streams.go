package limits

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// StreamHooks is told about refused streams and idle connections, e.g. to
// export metrics. Its methods must be cheap and must not block.
type StreamHooks interface {
	// StreamRefused counts a stream refused for opening too fast; reason
	// is ReasonConnection or ReasonIP.
	StreamRefused(reason string)
	// IdleClosed counts a connection closed after IdleTimeout without a
	// stream.
	IdleClosed()
}

// Reasons a stream is refused, as StreamHooks.StreamRefused gets them.
const (
	ReasonConnection = "connection_rate"
	ReasonIP         = "ip_rate"
)

// StreamOptions configures a StreamGuard.
type StreamOptions struct {
	// Methods are the full method names ("/package.Service/Method") whose
	// stream opens are limited. Other methods are never refused.
	Methods []string
	// Rate is how many streams of Methods one connection may open per
	// second on average, Burst how many at once. Zero Rate means no limit.
	Rate  float64
	Burst int
	// RatePerIP and BurstPerIP are the same for all connections from one
	// IP address together.
	RatePerIP  float64
	BurstPerIP int
	// IdleTimeout is the server's keepalive.ServerParameters
	// MaxConnectionIdle: a connection that ends after that long without a
	// stream is logged and counted as closed for idling. Zero means never.
	IdleTimeout time.Duration
	// Logger receives the refusals (at most one line a second) and idle
	// closes. Nil means slog.Default().
	Logger *slog.Logger
	// Hooks, when not nil, is told about refusals and idle closes.
	Hooks StreamHooks
}

// StreamGuard limits how fast connections and addresses open streams. Give
// the server its Tap as grpc.InTapHandle, which refuses a stream before any
// handler runs, and the guard itself as grpc.StatsHandler, which tells it
// about connections and streams.
type StreamGuard struct {
	opts    StreamOptions
	methods map[string]bool
	errConn error
	errIP   error

	mu        sync.Mutex
	perIP     map[string]*rate.Limiter
	lastSweep time.Time

	refusedLog rateLog
}

var _ stats.Handler = (*StreamGuard)(nil)

// sweepEvery is how often address buckets that have filled up again are
// forgotten: a full bucket is the same as a new one.
const sweepEvery = time.Minute

// NewStreamGuard returns a guard configured by opts.
func NewStreamGuard(opts StreamOptions) *StreamGuard {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Rate > 0 {
		opts.Burst = max(opts.Burst, 1)
	}
	if opts.RatePerIP > 0 {
		opts.BurstPerIP = max(opts.BurstPerIP, 1)
	}
	g := &StreamGuard{
		opts:    opts,
		methods: make(map[string]bool, len(opts.Methods)),
		perIP:   make(map[string]*rate.Limiter),
		errConn: status.Errorf(codes.ResourceExhausted, "opening streams too fast: at most %s per second on one connection; wait a moment and retry",
			strconv.FormatFloat(opts.Rate, 'f', -1, 64)),
		errIP: status.Errorf(codes.ResourceExhausted, "opening streams too fast: at most %s per second from one address; wait a moment and retry",
			strconv.FormatFloat(opts.RatePerIP, 'f', -1, 64)),
	}
	for _, m := range opts.Methods {
		g.methods[m] = true
	}
	return g
}

// connState is what the guard keeps per connection, in its context.
type connState struct {
	ip      string
	peer    string
	limiter *rate.Limiter // nil: no per-connection limit

	mu        sync.Mutex
	streams   int       // open streams
	idleSince time.Time // when streams last became 0
}

type connKey struct{}

// Tap is a tap.ServerInHandle: it refuses a stream of the limited methods
// with RESOURCE_EXHAUSTED when its connection or address opens them faster
// than allowed.
func (g *StreamGuard) Tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if !g.methods[info.FullMethodName] {
		return ctx, nil
	}
	cs, _ := ctx.Value(connKey{}).(*connState)
	if cs == nil {
		return ctx, nil
	}
	if cs.limiter != nil && !cs.limiter.Allow() {
		g.refused(cs, ReasonConnection)
		return ctx, g.errConn
	}
	if g.opts.RatePerIP > 0 && !g.ipLimiter(cs.ip).Allow() {
		g.refused(cs, ReasonIP)
		return ctx, g.errIP
	}
	return context.WithValue(ctx, tappedKey{}, true), nil
}

// ipLimiter returns ip's bucket, creating it if needed, and now and then
// forgets the buckets that are full again.
func (g *StreamGuard) ipLimiter(ip string) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Sub(g.lastSweep) >= sweepEvery {
		g.lastSweep = now
		for k, l := range g.perIP {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(g.perIP, k)
			}
		}
	}
	l := g.perIP[ip]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(g.opts.RatePerIP), g.opts.BurstPerIP)
		g.perIP[ip] = l
	}
	return l
}

func (g *StreamGuard) refused(cs *connState, reason string) {
	if g.opts.Hooks != nil {
		g.opts.Hooks.StreamRefused(reason)
	}
	if unlogged, ok := g.refusedLog.allow(); ok {
		g.opts.Logger.Warn("stream opened too fast; refused", "peer", cs.peer, "reason", reason,
			"also_refused_unlogged", unlogged)
	}
}

// TagConn implements stats.Handler: it gives the connection its state.
func (g *StreamGuard) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	cs := &connState{ip: IP(info.RemoteAddr), peer: peerString(info.RemoteAddr), idleSince: time.Now()}
	if g.opts.Rate > 0 {
		cs.limiter = rate.NewLimiter(rate.Limit(g.opts.Rate), g.opts.Burst)
	}
	return context.WithValue(ctx, connKey{}, cs)
}

// HandleConn implements stats.Handler: a connection that ends after
// IdleTimeout without a stream was closed by the server for idling.
func (g *StreamGuard) HandleConn(ctx context.Context, s stats.ConnStats) {
	if _, ok := s.(*stats.ConnEnd); !ok || g.opts.IdleTimeout <= 0 {
		return
	}
	cs, _ := ctx.Value(connKey{}).(*connState)
	if cs == nil {
		return
	}
	cs.mu.Lock()
	idle := cs.streams == 0 && time.Since(cs.idleSince) >= idleThreshold(g.opts.IdleTimeout)
	cs.mu.Unlock()
	if !idle {
		return
	}
	if g.opts.Hooks != nil {
		g.opts.Hooks.IdleClosed()
	}
	g.opts.Logger.Info("closed a connection idle without streams", "peer", cs.peer, "idle_timeout", g.opts.IdleTimeout)
}

// idleThreshold is how long a connection must have been without streams to
// count as closed for idling. gRPC starts its idle clock a moment before the
// stats handler hears that the last stream ended, so a little slack avoids
// missing the connections it closed.
func idleThreshold(d time.Duration) time.Duration { return d - d/10 }

// TagRPC implements stats.Handler.
func (g *StreamGuard) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

// HandleRPC implements stats.Handler: it counts the connection's open
// streams, to tell idle connections.
func (g *StreamGuard) HandleRPC(ctx context.Context, s stats.RPCStats) {
	var delta int
	switch s.(type) {
	case *stats.Begin:
		delta = 1
	case *stats.End:
		delta = -1
	default:
		return
	}
	cs, _ := ctx.Value(connKey{}).(*connState)
	if cs == nil {
		return
	}
	cs.mu.Lock()
	cs.streams += delta
	if cs.streams == 0 {
		cs.idleSince = time.Now()
	}
	cs.mu.Unlock()
}
