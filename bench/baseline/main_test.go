package main

import (
	"strings"
	"testing"
)

// Every bad flag or argument is one line on stderr and exit status 2.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-queue", "0"}, "-queue must be more than 0"},
		{[]string{"-queue", "many"}, "-queue"},
		{[]string{"-max-lifetime", "0s"}, "-max-lifetime"},
		{[]string{"-max-lifetime", "long"}, "-max-lifetime"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stdout, stderr strings.Builder
		code := run(tc.args, &stdout, &stderr)
		if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), "baseline: ") ||
			!strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line naming %s", tc.args, code, stderr.String(), tc.want)
		}
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "-max-lifetime") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
}
