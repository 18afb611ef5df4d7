package main

import (
	"bufio"
	"io"
	"net"
	"testing"
)

// echoServer answers every line with itself until the test ends.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, r *bufio.Reader, c net.Conn, line string) {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("echo of %q: %q, %v", line, got, err)
	}
}

func TestProxyCutsEveryConnectionAndAcceptsNewOnes(t *testing.T) {
	p, err := newProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, bufio.NewReader(c), c, "hello") // carried, and tracked
		conns = append(conns, c)
	}
	if n := p.cut(); n != 3 {
		t.Fatalf("cut %d connections, want 3", n)
	}
	for i, c := range conns {
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			t.Fatalf("connection %d still open after the cut", i)
		}
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, bufio.NewReader(c), c, "again")
}
