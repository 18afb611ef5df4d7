package main

import (
	"io"
	"strings"
	"testing"
)

func TestFlagsNeedAServerCommandAndAKnownMode(t *testing.T) {
	c, err := parseFlags([]string{"-mode", "cut", "-addr", "127.0.0.1:1", "--", "chat-server", "-addr", "127.0.0.1:1"}, io.Discard)
	if err != nil || c.mode != "cut" || strings.Join(c.serverArgs, " ") != "chat-server -addr 127.0.0.1:1" {
		t.Fatalf("parse: %+v, %v", c, err)
	}
	for _, bad := range [][]string{
		{"-mode", "reboot", "-addr", "x", "srv"},
		{"srv"}, // no -addr
		{"-addr", "x"},
		{"-addr", "x", "-senders", "3", "-clients", "2", "srv"},
		{"-addr", "x", "-rate", "0", "srv"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
