// Package clitest checks, in the tests of each command, the promise package
// cli makes: bad usage is one line on stderr and exit status 2.
package clitest

import (
	"strings"
	"testing"
)

// WantUsageError fails t unless a command, run as what describes, exited
// with status 2 after writing exactly one line to stderr that starts with
// prefix and contains want.
func WantUsageError(t testing.TB, what any, code int, stderr, prefix, want string) {
	t.Helper()
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") ||
		!strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, want) {
		t.Errorf("%v: exit %d, stderr %q; want 2 and one line starting %q naming %q", what, code, stderr, prefix, want)
	}
}
