package main

import (
	"strings"
	"testing"

	"github.com/polychat/polychat/internal/cli/clitest"
)

// Every bad flag or argument is one line on stderr and exit status 2.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-clients", "many"}, "-clients"},
		{[]string{"-clients", "1"}, "-clients must be at least 2"},
		{[]string{"-publishers", "0"}, "-publishers must be between 1 and -clients"},
		{[]string{"-rates", "fast"}, `bad rate "fast" in -rates`},
		{[]string{"-rates", " , "}, "-rates is empty"},
		{[]string{"-duration", "long"}, "-duration"},
		{[]string{"-pid", "1,x"}, `bad process id "x" in -pid`},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-pingpong", "-1"}, "-pingpong and -warmup-hops must be 0 or more"},
	} {
		var stderr strings.Builder
		_, code, ok := parseArgs(tc.args, &stderr)
		clitest.WantUsageError(t, tc, code, stderr.String(), "loadgen: ", tc.want)
		if ok {
			t.Errorf("%v: ok", tc)
		}
	}
	var stderr strings.Builder
	if _, code, ok := parseArgs([]string{"-h"}, &stderr); ok || code != 0 || !strings.Contains(stderr.String(), "-rates") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
	c, _, ok := parseArgs([]string{"-clients", "120", "-rates", "10,20"}, &stderr)
	if !ok || c.clients != 120 || c.conns != 3 || len(c.rates) != 2 || c.addr != "127.0.0.1:50053" {
		t.Errorf("good flags: %+v", c)
	}
	c, _, ok = parseArgs([]string{"-addr", "a:1,b:2", "-pid", "7,8", "-rates", "1"}, &stderr)
	if !ok || len(c.addrs) != 2 || c.addrs[1] != "b:2" || len(c.pids) != 2 || c.pids[1] != 8 {
		t.Errorf("several servers: %+v", c)
	}
}
