// Package limits holds the chat server's connection and stream limits: a
// listener that closes connections over a maximum (in all, and per IP
// address) at once, so that a flood of connections can neither exhaust the
// server nor block it from accepting, and a stream guard that rate limits
// the streams a connection and an address open and notes connections closed
// for idling.
package limits

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// ConnHooks is told about connections, e.g. to export metrics. Its methods
// must be cheap and must not block.
type ConnHooks interface {
	ConnOpened()
	ConnClosed()
	// ConnRejected counts a connection closed because Max were open.
	ConnRejected()
	// ConnRejectedPerIP counts a connection closed because MaxPerIP were
	// open from its address.
	ConnRejectedPerIP()
	// HandshakeTimedOut counts a connection closed because it did not
	// finish its handshake in time.
	HandshakeTimedOut()
}

// ListenerOptions configures Listener.
type ListenerOptions struct {
	// Max is the number of connections open at once; more are closed as
	// soon as they are accepted. Zero or less means no limit.
	Max int
	// MaxPerIP is the same for the connections from one IP address.
	MaxPerIP int
	// HandshakeTimeout is the deadline the server sets for a connection's
	// handshake (grpc.ConnectionTimeout); it is only reported in the log
	// line of a connection that missed it.
	HandshakeTimeout time.Duration
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
	// Tracker, when not nil, is told about every connection accepted and
	// closed.
	Tracker ConnTracker
}

// ConnTracker is told about each connection a Listener accepts, and when
// it is closed; handshook is false for one whose handshake timed out.
type ConnTracker interface {
	Opened(c net.Conn)
	Closed(c net.Conn, handshook bool)
}

// Listener wraps l so that at most opts.Max connections are open at once,
// and at most opts.MaxPerIP from one IP address. A connection over a limit
// is closed immediately, with a WARN log line, and Accept goes on to the
// next one: it never blocks waiting for room. A connection whose reads hit
// the handshake deadline is logged and counted.
func Listener(l net.Listener, opts ListenerOptions) net.Listener {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &listener{Listener: l, opts: opts, perIP: make(map[string]int)}
}

type listener struct {
	net.Listener
	opts ListenerOptions
	open atomic.Int64

	ipMu  sync.Mutex
	perIP map[string]int // open connections by IP address, when MaxPerIP is set

	rejectLog, perIPLog, handshakeLog rateLog
}

// Accept returns the next connection within the limits.
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
		ip := IP(c.RemoteAddr())
		if !l.reserveIP(ip) {
			l.open.Add(-1)
			l.rejectedPerIP(c.RemoteAddr())
			c.Close()
			continue
		}
		if l.opts.UserTimeout > 0 {
			setUserTimeout(c, l.opts.UserTimeout)
		}
		if l.opts.Hooks != nil {
			l.opts.Hooks.ConnOpened()
		}
		if l.opts.Tracker != nil {
			l.opts.Tracker.Opened(c)
		}
		return &conn{Conn: c, l: l, ip: ip}, nil
	}
}

// Open returns the number of connections open.
func (l *listener) Open() int { return int(l.open.Load()) }

// IP returns the client address that per-address limits count addr under:
// the IP address of a TCP address, or, for IPv6, its /64 network, since one
// host commonly holds a whole /64. Other addresses count as themselves.
func IP(addr net.Addr) string {
	var ip net.IP
	switch a := addr.(type) {
	case nil:
		return "unknown"
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		if ip = net.ParseIP(host); ip == nil {
			return host
		}
	}
	if ip.To4() == nil && len(ip) == net.IPv6len {
		prefix := net.CIDRMask(64, 128)
		return (&net.IPNet{IP: ip.Mask(prefix), Mask: prefix}).String()
	}
	return ip.String()
}

// reserveIP counts a new connection from ip unless its limit is reached.
func (l *listener) reserveIP(ip string) bool {
	if l.opts.MaxPerIP <= 0 {
		return true
	}
	l.ipMu.Lock()
	defer l.ipMu.Unlock()
	if l.perIP[ip] >= l.opts.MaxPerIP {
		return false
	}
	l.perIP[ip]++
	return true
}

// releaseIP uncounts a connection from ip.
func (l *listener) releaseIP(ip string) {
	if l.opts.MaxPerIP <= 0 {
		return
	}
	l.ipMu.Lock()
	defer l.ipMu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

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
	if unlogged, ok := l.rejectLog.allow(); ok {
		l.opts.Logger.Warn("too many connections; closed a new one", "peer", peerString(addr), "max_connections", l.opts.Max,
			"also_closed_unlogged", unlogged)
	}
}

func (l *listener) rejectedPerIP(addr net.Addr) {
	if l.opts.Hooks != nil {
		l.opts.Hooks.ConnRejectedPerIP()
	}
	if unlogged, ok := l.perIPLog.allow(); ok {
		l.opts.Logger.Warn("too many connections from one address; closed a new one", "peer", peerString(addr),
			"max_connections_per_ip", l.opts.MaxPerIP, "also_closed_unlogged", unlogged)
	}
}

func (l *listener) handshakeTimedOut(addr net.Addr) {
	if l.opts.Hooks != nil {
		l.opts.Hooks.HandshakeTimedOut()
	}
	if unlogged, ok := l.handshakeLog.allow(); ok {
		l.opts.Logger.Warn("connection did not finish its handshake in time; closed", "peer", peerString(addr),
			"handshake_timeout", l.opts.HandshakeTimeout, "also_closed_unlogged", unlogged)
	}
}

func peerString(addr net.Addr) string {
	if addr == nil {
		return "unknown"
	}
	return addr.String()
}

// rateLog lets one log line a second through, counting the others.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether to log now and how many lines were held back since
// the last one.
func (r *rateLog) allow() (suppressed int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < time.Second {
		r.suppressed++
		return 0, false
	}
	suppressed = r.suppressed
	r.last, r.suppressed = now, 0
	return suppressed, true
}

// conn releases its place in the limits when closed.
type conn struct {
	net.Conn
	l  *listener
	ip string

	once     sync.Once
	timedOut atomic.Bool
}

// Read notes a read that hit a deadline: gRPC sets one on a new connection
// for its handshake (grpc.ConnectionTimeout) and clears it once the
// handshake is done, so such a read means the handshake took too long.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.timedOut.CompareAndSwap(false, true) {
		c.l.handshakeTimedOut(c.RemoteAddr())
	}
	return n, err
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		c.l.releaseIP(c.ip)
		if c.l.opts.Hooks != nil {
			c.l.opts.Hooks.ConnClosed()
		}
		if c.l.opts.Tracker != nil {
			c.l.opts.Tracker.Closed(c.Conn, !c.timedOut.Load())
		}
	})
	return err
}
