package limits

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const wait = 5 * time.Second

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type hooks struct{ opened, closed, rejected, rejectedPerIP, handshake atomic.Int64 }

func (h *hooks) ConnOpened()        { h.opened.Add(1) }
func (h *hooks) ConnClosed()        { h.closed.Add(1) }
func (h *hooks) ConnRejected()      { h.rejected.Add(1) }
func (h *hooks) ConnRejectedPerIP() { h.rejectedPerIP.Add(1) }
func (h *hooks) HandshakeTimedOut() { h.handshake.Add(1) }

func TestListenerClosesConnectionsOverTheLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h := &hooks{}
	l := Listener(raw, ListenerOptions{Max: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Hooks: h, UserTimeout: time.Second})
	defer l.Close()
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(wait):
			t.Fatal("no connection accepted")
		}
		return nil
	}
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	dial()
	first := next()
	extra := dial()
	// The extra connection is closed by the server without a byte.
	extra.SetReadDeadline(time.Now().Add(wait))
	if n, err := extra.Read(make([]byte, 1)); n != 0 || err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("extra connection: read %d, %v; want it closed", n, err)
	}
	// Closing the first makes room; Accept was not blocked meanwhile.
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	first.Close() // a second Close does not free a second place
	dial()
	third := next()
	defer third.Close()
	if got := l.(*listener).Open(); got != 1 {
		t.Fatalf("open = %d, want 1", got)
	}
	if h.opened.Load() != 2 || h.closed.Load() != 1 || h.rejected.Load() != 1 {
		t.Fatalf("hooks opened %d closed %d rejected %d", h.opened.Load(), h.closed.Load(), h.rejected.Load())
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"too many connections; closed a new one\"") || !strings.Contains(logs.String(), "max_connections=1") {
		t.Fatalf("log lacks the warning:\n%s", logs.String())
	}
}

func TestListenerWithoutLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listener(raw, ListenerOptions{})
	defer l.Close()
	done := make(chan int)
	go func() {
		n := 0
		for range 5 {
			c, err := l.Accept()
			if err != nil {
				break
			}
			defer c.Close()
			n++
		}
		done <- n
	}()
	for range 5 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	select {
	case n := <-done:
		if n != 5 {
			t.Fatalf("accepted %d, want 5", n)
		}
	case <-time.After(wait):
		t.Fatal("not all connections were accepted")
	}
}

// dialFrom connects to addr from the loopback address local (any 127.x.y.z
// works on Linux), so tests can play several client addresses.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c without sending a byte.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(make([]byte, 1))
	if err != nil && strings.Contains(err.Error(), "timeout") {
		t.Fatal("connection neither closed nor written to in time")
	}
	return n == 0 && err != nil
}

func TestListenerLimitsConnectionsPerIP(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h := &hooks{}
	l := Listener(raw, ListenerOptions{Max: 10, MaxPerIP: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Hooks: h})
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("!")) // tells the client it was accepted
			accepted <- c
		}
	}()
	addr := raw.Addr().String()
	var first []net.Conn
	for range 2 {
		c := dialFrom(t, "127.0.0.1", addr)
		if closedByServer(t, c) {
			t.Fatal("a connection within the per-address limit was closed")
		}
		first = append(first, <-accepted)
	}
	if !closedByServer(t, dialFrom(t, "127.0.0.1", addr)) {
		t.Fatal("a third connection from 127.0.0.1 was accepted; want it closed")
	}
	// Another address is not affected.
	if closedByServer(t, dialFrom(t, "127.0.0.2", addr)) {
		t.Fatal("a connection from 127.0.0.2 was closed")
	}
	<-accepted
	// Closing one of the first makes room for the address again.
	first[0].Close()
	if closedByServer(t, dialFrom(t, "127.0.0.1", addr)) {
		t.Fatal("a connection after one closed was refused")
	}
	<-accepted
	if h.rejectedPerIP.Load() != 1 || h.rejected.Load() != 0 || h.opened.Load() != 4 {
		t.Fatalf("hooks: rejected per IP %d, rejected %d, opened %d", h.rejectedPerIP.Load(), h.rejected.Load(), h.opened.Load())
	}
	if got := logs.String(); !strings.Contains(got, `msg="too many connections from one address; closed a new one" peer=127.0.0.1:`) ||
		!strings.Contains(got, "max_connections_per_ip=2") {
		t.Fatalf("log lacks the warning:\n%s", got)
	}
}

func TestIPKeys(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 5}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 5}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "bufconn", Net: "unix"}, "bufconn"},
		{nil, "unknown"},
	} {
		if got := IP(tc.addr); got != tc.want {
			t.Errorf("IP(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
