package app

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Profiles are off unless -pprof-addr asks for them, and then served on
// their own address, not beside /metrics.
func TestPprofOnlyWhenAsked(t *testing.T) {
	off := start(t, testConfig(t))
	if off.PprofAddr() != nil {
		t.Fatalf("profiles served on %v without -pprof-addr", off.PprofAddr())
	}
	resp, err := http.Get("http://" + off.MetricsAddr().String() + "/debug/pprof/heap")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/heap on the metrics address: %s, want 404", resp.Status)
	}

	on := start(t, testConfig(t, "-pprof-addr", "127.0.0.1:0"))
	if on.PprofAddr() == nil {
		t.Fatal("no profiles with -pprof-addr")
	}
	resp, err = http.Get("http://" + on.PprofAddr().String() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "goroutine profile: total ") {
		t.Fatalf("goroutine profile: %s %.100q", resp.Status, body)
	}
}
