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
		{[]string{"-queue", "0"}, "-queue must be more than 0"},
		{[]string{"-queue", "many"}, "-queue"},
		{[]string{"-max-lifetime", "0s"}, "-max-lifetime"},
		{[]string{"-max-lifetime", "long"}, "-max-lifetime"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stdout, stderr strings.Builder
		code := run(tc.args, &stdout, &stderr)
		clitest.WantUsageError(t, tc, code, stderr.String(), "baseline: ", tc.want)
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", tc, stdout.String())
		}
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "-max-lifetime") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
}
