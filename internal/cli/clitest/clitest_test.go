package clitest

import "testing"

// recorder notes whether a check failed, without failing the real test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestWantUsageError(t *testing.T) {
	for _, tc := range []struct {
		code   int
		stderr string
		fails  bool
	}{
		{2, "x: bad -n\n", false},
		{1, "x: bad -n\n", true},
		{2, "x: bad -n\nUsage: x\n", true},
		{2, "x: bad -q\n", true},
		{2, "y: bad -n\n", true},
		{2, "x: bad -n", true},
	} {
		r := &recorder{TB: t}
		WantUsageError(r, "case", tc.code, tc.stderr, "x: ", "-n")
		if r.failed != tc.fails {
			t.Errorf("%d %q: failed = %v, want %v", tc.code, tc.stderr, r.failed, tc.fails)
		}
	}
}
