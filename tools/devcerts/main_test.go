package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
