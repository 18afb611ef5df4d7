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

type hooks struct{ opened, closed, rejected atomic.Int64 }

func (h *hooks) ConnOpened()   { h.opened.Add(1) }
func (h *hooks) ConnClosed()   { h.closed.Add(1) }
func (h *hooks) ConnRejected() { h.rejected.Add(1) }

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
