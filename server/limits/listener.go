// Package limits holds the chat server's connection limit: a listener that
// closes connections over a maximum at once, so that a flood of connections
// can neither exhaust the server nor block it from accepting.
package limits

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ConnHooks is told about connections, e.g. to export metrics. Its methods
// must be cheap and must not block.
type ConnHooks interface {
	ConnOpened()
	ConnClosed()
	ConnRejected()
}

// ListenerOptions configures Listener.
type ListenerOptions struct {
	// Max is the number of connections open at once; more are closed as
	// soon as they are accepted. Zero or less means no limit.
	Max int
	// UserTimeout, when positive, is set as TCP_USER_TIMEOUT on accepted
	// TCP connections (where the system supports it). gRPC sets it itself
	// to its keepalive timeout, but only on connections it can see are TCP,
	// which a wrapped connection is not.
	UserTimeout time.Duration
	// Logger receives a warning for rejected connections (at most one a
	// second, with the number left unlogged). Nil means slog.Default().
	Logger *slog.Logger
	// Hooks, when not nil, is told about connections.
	Hooks ConnHooks
}

// Listener wraps l so that at most opts.Max connections are open at once.
// A connection over the limit is closed immediately, with a WARN log line,
// and Accept goes on to the next one: it never blocks waiting for room.
func Listener(l net.Listener, opts ListenerOptions) net.Listener {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &listener{Listener: l, opts: opts}
}

type listener struct {
	net.Listener
	opts ListenerOptions
	open atomic.Int64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int
}

// Accept returns the next connection within the limit.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.reserve() {
			l.rejected(c.RemoteAddr()) // first, so the log line precedes the peer's EOF
			c.Close()
			continue
		}
		if l.opts.UserTimeout > 0 {
			setUserTimeout(c, l.opts.UserTimeout)
		}
		if l.opts.Hooks != nil {
			l.opts.Hooks.ConnOpened()
		}
		return &conn{Conn: c, l: l}, nil
	}
}

// Open returns the number of connections open.
func (l *listener) Open() int { return int(l.open.Load()) }

// reserve counts a new connection unless the limit is reached.
func (l *listener) reserve() bool {
	for {
		n := l.open.Load()
		if l.opts.Max > 0 && n >= int64(l.opts.Max) {
			return false
		}
		if l.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (l *listener) rejected(addr net.Addr) {
	if l.opts.Hooks != nil {
		l.opts.Hooks.ConnRejected()
	}
	l.logMu.Lock()
	now := time.Now()
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < time.Second {
		l.suppressed++
		l.logMu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.lastLog, l.suppressed = now, 0
	l.logMu.Unlock()
	peer := "unknown"
	if addr != nil {
		peer = addr.String()
	}
	l.opts.Logger.Warn("too many connections; closed a new one", "peer", peer, "max_connections", l.opts.Max,
		"also_closed_unlogged", suppressed)
}

// conn releases its place in the limit when closed.
type conn struct {
	net.Conn
	l    *listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		if c.l.opts.Hooks != nil {
			c.l.opts.Hooks.ConnClosed()
		}
	})
	return err
}
