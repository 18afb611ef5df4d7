package limits

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
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
// handler runs, its interceptors first in the server's chains, which count
// each connection's open calls, and the guard itself as the ConnTracker of
// the server's Listener, which tells it about connections.
//
// It is not a grpc.StatsHandler: with one installed, gRPC builds a stats
// event for every message sent and received, which in a chat room is every
// delivery.
type StreamGuard struct {
	opts    StreamOptions
	methods map[string]bool
	errConn error
	errIP   error

	mu        sync.Mutex
	perIP     map[string]*rate.Limiter
	lastSweep time.Time

	connMu sync.Mutex
	conns  map[connKey]*connState // the open connections

	refusedLog rateLog
}

var _ ConnTracker = (*StreamGuard)(nil)

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
		conns:   make(map[connKey]*connState),
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

// connKey names a connection by its two ends, as the listener and a
// call's peer both see them.
type connKey struct{ local, remote string }

// keyOf returns the key of the connection between local and remote.
func keyOf(local, remote net.Addr) connKey {
	return connKey{local: peerString(local), remote: peerString(remote)}
}

// Opened implements ConnTracker: it gives the connection its state.
func (g *StreamGuard) Opened(c net.Conn) {
	addr := c.RemoteAddr()
	cs := &connState{ip: IP(addr), peer: peerString(addr), idleSince: time.Now()}
	if g.opts.Rate > 0 {
		cs.limiter = rate.NewLimiter(rate.Limit(g.opts.Rate), g.opts.Burst)
	}
	g.connMu.Lock()
	g.conns[keyOf(c.LocalAddr(), addr)] = cs
	g.connMu.Unlock()
}

// Closed implements ConnTracker: a connection that ends after IdleTimeout
// without a call was closed by the server for idling (unless it never
// finished its handshake: handshook is false).
func (g *StreamGuard) Closed(c net.Conn, handshook bool) {
	key := keyOf(c.LocalAddr(), c.RemoteAddr())
	g.connMu.Lock()
	cs := g.conns[key]
	delete(g.conns, key)
	g.connMu.Unlock()
	if cs == nil || !handshook || g.opts.IdleTimeout <= 0 {
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

// connOf returns the state of the connection a call's ctx came on: the one
// Tap found, or the one of the call's peer; nil for a connection the
// guard was not told of (the page's, served through ServeHTTP).
func (g *StreamGuard) connOf(ctx context.Context) *connState {
	if cs, ok := ctx.Value(tappedKey{}).(*connState); ok {
		return cs
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	g.connMu.Lock()
	defer g.connMu.Unlock()
	return g.conns[keyOf(p.LocalAddr, p.Addr)]
}

// Tap is a tap.ServerInHandle: it refuses a stream of the limited methods
// with RESOURCE_EXHAUSTED when its connection or address opens them faster
// than allowed.
func (g *StreamGuard) Tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if !g.methods[info.FullMethodName] {
		return ctx, nil
	}
	cs := g.connOf(ctx)
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
	return context.WithValue(ctx, tappedKey{}, cs), nil
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

// idleThreshold is how long a connection must have been without streams to
// count as closed for idling. gRPC starts its idle clock a moment before the
// stats handler hears that the last stream ended, so a little slack avoids
// missing the connections it closed.
func idleThreshold(d time.Duration) time.Duration { return d - d/10 }

// began counts a call opened on the connection of ctx; the returned func
// counts it ended.
func (g *StreamGuard) began(ctx context.Context) (ended func()) {
	cs := g.connOf(ctx)
	if cs == nil {
		return func() {}
	}
	cs.mu.Lock()
	cs.streams++
	cs.mu.Unlock()
	return func() {
		cs.mu.Lock()
		if cs.streams--; cs.streams == 0 {
			cs.idleSince = time.Now()
		}
		cs.mu.Unlock()
	}
}
