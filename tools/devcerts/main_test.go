package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polychat/polychat/internal/cli/clitest"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	stderr.Reset()
	if code := run([]string{"-out", out}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "-force") || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("second run: exit %d, stderr %q; want 1 and one line naming -force", code, stderr.String())
	}
	if code := run([]string{"-out", out, "-force"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-force: exit %d", code)
	}
	if code := run([]string{"-days", "0"}, &stdout, &stderr); code != 2 {
		t.Fatalf("-days 0: exit %d", code)
	}
}

// Every bad flag or argument is one line on stderr and exit status 2; -h
// is the usage and 0.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-days", "0"}, "-days must be more than 0"},
		{[]string{"-days", "soon"}, "-days"},
		{[]string{"-force=perhaps"}, "-force"},
		{[]string{"-hosts", " , "}, "-hosts must name at least one host"},
		{[]string{"certs"}, "unexpected argument"},
		{[]string{"-out"}, "-out"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		clitest.WantUsageError(t, tc, code, stderr.String(), "devcerts: ", tc.want)
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", tc, stdout.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "Usage: go run ./tools/devcerts") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr.String())
	}
}
