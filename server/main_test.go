package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/cli/clitest"
)

// The test binary doubles as the server, so the tests run the real main.
func TestMain(m *testing.M) {
	if os.Getenv("POLYCHAT_TEST_RUN_SERVER") == "1" {
		os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func serverCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "POLYCHAT_TEST_RUN_SERVER=1")
	return cmd
}

func TestServerProcess(t *testing.T) {
	cmd := serverCmd("-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-log-format", "json", "-metrics-addr", "127.0.0.1:0", "-web-addr", "127.0.0.1:0")
	// A deprecated name still works, and says once what replaces it.
	cmd.Env = append(cmd.Env, "CHAT_AUTH_ADDR=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	addrc := make(chan [2]string, 1)
	warnings := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Level, Msg, Addr, Metrics string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch {
			case line.Msg == "chat server listening":
				addrc <- [2]string{line.Addr, line.Metrics}
			case line.Level == "WARN":
				warnings <- line.Msg
			}
		}
	}()
	var addr, metricsAddr string
	select {
	case a := <-addrc:
		addr, metricsAddr = a[0], a[1]
	case <-time.After(10 * time.Second):
		t.Fatal("server did not log its address")
	}
	// The warning is logged before the server listens.
	select {
	case w := <-warnings:
		if w != "environment variable CHAT_AUTH_ADDR is deprecated; use CHAT_AUTH_SERVER" {
			t.Errorf("warning %q", w)
		}
	default:
		t.Error("no warning for CHAT_AUTH_ADDR")
	}

	// A second server on the same address fails with one clear line.
	out, err := serverCmd("-addr", addr, "-data-dir", "", "-web-addr", "").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || string(out) != "cannot listen on "+addr+": address already in use\n" {
		t.Fatalf("second server: %v, output %q", err, out)
	}
	// A bad value exits 2 with one line.
	out, err = serverCmd("-queue", "-1").CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("bad flag: %v, output %q", err, out)
	}

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, svc := range []string{"", "chat.ChatService"} {
		resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", svc, resp, err)
		}
	}
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(metadata.AppendToOutgoingContext(ctx, "chat-user", "Alice"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.Recv(); err != nil || m.GetMessage() != "Welcome, Alice! You are in room general." {
		t.Fatalf("welcome: %v %v", m, err)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "\npolychat_chat_connected_clients 1\n") {
		t.Fatalf("metrics lack one connected client:\n%s", body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if m, err := st.Recv(); err != nil || m.GetMessage() != "Server is shutting down" || m.GetKind() != chatpb.ChatMessage_KIND_SYSTEM {
		t.Fatalf("shutdown notice: %v %v", m, err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("after notice: %v, want UNAVAILABLE", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v", err)
	}
}

// Every bad flag or environment value is one line on stderr and exit
// status 2; -h is the usage on stdout and 0.
func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-nope"}, nil, "-nope"},
		{[]string{"-queue", "-1"}, nil, "-queue"},
		{[]string{"-history", "many"}, nil, "-history"},
		{[]string{"-shutdown-timeout", "soon"}, nil, "-shutdown-timeout"},
		{[]string{"-log-level", "loud"}, nil, "-log-level"},
		{[]string{"-log-format", "xml"}, nil, "-log-format"},
		{[]string{"-rate", "fast"}, nil, "-rate"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{nil, map[string]string{"CHAT_QUEUE_SIZE": "x"}, "CHAT_QUEUE_SIZE"},
		{nil, map[string]string{"POLYCHAT_LOG_LEVEL": "loud"}, "POLYCHAT_LOG_LEVEL"},
		{nil, map[string]string{"CHAT_LOG_LEVEL": "loud"}, "POLYCHAT_LOG_LEVEL"},
		{nil, map[string]string{"POLYCHAT_LOG_FORMAT": "xml"}, "-log-format"},
		{nil, map[string]string{"CHAT_AUTH_CACHE_TTL": "a while"}, "CHAT_AUTH_CACHE_TTL"},
		{nil, map[string]string{"CHAT_MAX_CONNECTIONS": "-1"}, "-max-connections"},
		{nil, map[string]string{"POLYCHAT_TLS_CERT": "c.pem"}, "-tls-cert and -tls-key"},
		{nil, map[string]string{"CHAT_AUTH_CA": "ca.pem"}, "-auth-server"},
		{nil, map[string]string{"CHAT_FILE_KEY": "too short"}, "CHAT_FILE_KEY"},
		{[]string{"-file-key-file", "k"}, map[string]string{"CHAT_FILE_KEY": strings.Repeat("k", 32)}, "-file-key-file"},
	} {
		var stdout, stderr strings.Builder
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		code := run(tc.args, lookup, &stdout, &stderr)
		clitest.WantUsageError(t, tc, code, stderr.String(), "chat-server: ", tc.want)
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q", tc, stdout.String())
		}
	}
	var stdout, stderr strings.Builder
	if code := run([]string{"-h"}, func(string) (string, bool) { return "", false }, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "Usage: chat-server") || stderr.Len() != 0 {
		t.Errorf("-h: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}
