package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/polychat/polychat/internal/cli/clitest"
)

// Every bad flag, argument or environment value is one line on stderr and
// exit status 2, before any check runs.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-nope"}, nil, "-nope"},
		{[]string{"-timeout", "soon"}, nil, "-timeout"},
		{[]string{"-timeout", "0s"}, nil, "-timeout must be positive"},
		{[]string{"extra"}, nil, "unexpected arguments"},
		{[]string{"-user"}, nil, "-user"},
	} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), tc.args, &stdout, &stderr, func(k string) string { return tc.env[k] })
		clitest.WantUsageError(t, tc, code, stderr.String(), "interop: ", tc.want)
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", tc, stdout.String())
		}
	}
}

func TestOptions(t *testing.T) {
	env := map[string]string{"USER_SERVER": "u:1", "STREAMING_SERVER": "s:1"}
	var stderr strings.Builder
	o, err := parseArgs([]string{"-streaming", "s:2", "-timeout", "3s"}, func(k string) string { return env[k] }, &stderr)
	if err != nil || o.user != "u:1" || o.streaming != "s:2" || o.timeout != 3*time.Second {
		t.Errorf("got %+v, %v; want the flag over its variable", o, err)
	}
	o, err = parseArgs(nil, func(string) string { return "" }, &stderr)
	if err != nil || o.user != defaultUser || o.streaming != defaultStreaming || o.timeout != 10*time.Second {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	var stdout strings.Builder
	stderr.Reset()
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr, func(string) string { return "" }); code != 0 ||
		!strings.Contains(stderr.String(), "-streaming") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
}
