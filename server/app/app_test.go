package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/tlsconfig"
	"github.com/polychat/polychat/server/config"
	"github.com/polychat/polychat/tools/devcerts/certgen"
)

// wait bounds every wait for an event; tests never sleep.
const wait = 15 * time.Second

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testConfig is the default configuration on loopback ports, with history
// in memory, plus args.
func testConfig(t *testing.T, args ...string) config.Config {
	t.Helper()
	return testConfigEnv(t, nil, args...)
}

// testConfigEnv is testConfig with the environment env.
func testConfigEnv(t *testing.T, env map[string]string, args ...string) config.Config {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-data-dir", "", "-metrics-addr", "127.0.0.1:0", "-web-addr", "127.0.0.1:0"}, args...)
	cfg, err := config.Parse("test", args, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// running is a server serving on loopback until the test ends.
type running struct {
	*Server
	logs *syncBuffer
}

func start(t *testing.T, cfg config.Config) running {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
	return running{Server: s, logs: logs}
}

// dial connects to addr with creds (nil: plaintext).
func dial(t *testing.T, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func checkHealth(cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "chat.ChatService"})
	if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return status.Errorf(codes.Internal, "status %v", resp.GetStatus())
	}
	return err
}

// join opens a chat stream with metadata pairs and returns it once the
// welcome has arrived.
func join(t *testing.T, cc *grpc.ClientConn, md ...string) (chatpb.ChatService_ChatStreamClient, *chatpb.ChatMessage) {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), md...))
	t.Cleanup(cancel)
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st, recv(t, st)
}

func recv(t *testing.T, st grpc.ClientStream) *chatpb.ChatMessage {
	t.Helper()
	type result struct {
		m   *chatpb.ChatMessage
		err error
	}
	c := make(chan result, 1)
	go func() {
		m := new(chatpb.ChatMessage)
		err := st.RecvMsg(m)
		c <- result{m, err}
	}()
	select {
	case r := <-c:
		if r.err != nil {
			t.Fatalf("recv: %v", r.err)
		}
		return r.m
	case <-time.After(wait):
		t.Fatal("no message in time")
	}
	return nil
}

func listServices(t *testing.T, cc *grpc.ClientConn) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

func clientCreds(t *testing.T, ca, cert, key string) credentials.TransportCredentials {
	t.Helper()
	tc, err := tlsconfig.Client(tlsconfig.ClientOptions{CAFile: ca, CertFile: cert, KeyFile: key, System: true})
	if err != nil {
		t.Fatal(err)
	}
	return credentials.NewTLS(tc)
}

func TestPlaintextTLSAndMutualTLS(t *testing.T) {
	good, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		ok      credentials.TransportCredentials
		refused map[string]credentials.TransportCredentials
		reason  map[string]string
	}{
		{
			name: "plaintext",
			ok:   insecure.NewCredentials(),
			refused: map[string]credentials.TransportCredentials{
				"TLS client": clientCreds(t, good.CA, "", ""),
			},
		},
		{
			name: "TLS",
			args: []string{"-tls-cert", good.Server, "-tls-key", good.ServerKey},
			ok:   clientCreds(t, good.CA, "", ""),
			refused: map[string]credentials.TransportCredentials{
				"plaintext client": insecure.NewCredentials(),
				"wrong CA":         clientCreds(t, other.CA, "", ""),
			},
			reason: map[string]string{"wrong CA": "certificate signed by unknown authority"},
		},
		{
			name: "mutual TLS",
			args: []string{"-tls-cert", good.Server, "-tls-key", good.ServerKey, "-tls-client-ca", good.CA},
			ok:   clientCreds(t, good.CA, good.Client, good.ClientKey),
			refused: map[string]credentials.TransportCredentials{
				"no client certificate":              clientCreds(t, good.CA, "", ""),
				"client certificate from another CA": clientCreds(t, good.CA, other.Client, other.ClientKey),
				"wrong CA":                           clientCreds(t, other.CA, good.Client, good.ClientKey),
				"plaintext client":                   insecure.NewCredentials(),
			},
			reason: map[string]string{"wrong CA": "certificate signed by unknown authority"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, testConfig(t, tc.args...))
			addr := s.Addr().String()
			cc := dial(t, addr, tc.ok)
			if err := checkHealth(cc); err != nil {
				t.Fatalf("health: %v", err)
			}
			if names := strings.Join(listServices(t, cc), " "); !strings.Contains(names, "chat.ChatService") || !strings.Contains(names, "grpc.health.v1.Health") {
				t.Fatalf("reflection lists %q", names)
			}
			if _, welcome := join(t, cc, "chat-user", "Alice"); welcome.GetMessage() != "Welcome, Alice! You are in room general." {
				t.Fatalf("welcome = %q", welcome.GetMessage())
			}
			for name, creds := range tc.refused {
				err := checkHealth(dial(t, addr, creds))
				if status.Code(err) != codes.Unavailable {
					t.Errorf("%s: %v, want UNAVAILABLE", name, err)
				}
				if want := tc.reason[name]; want != "" && !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %v, want %q", name, err, want)
				}
			}
		})
	}
}

// fakeAuth accepts the token "tok-alice" for alice.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
}

func (fakeAuth) ValidateSession(_ context.Context, req *authv1.ValidateSessionRequest) (*authv1.ValidateSessionResponse, error) {
	if req.GetSessionId() == "tok-alice" {
		return &authv1.ValidateSessionResponse{Username: "alice"}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "unknown session")
}

// serveAuth serves fakeAuth on loopback, over tc when set.
func serveAuth(t *testing.T, tc *tls.Config) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if tc != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tc)))
	}
	srv := grpc.NewServer(opts...)
	authv1.RegisterAuthServiceServer(srv, fakeAuth{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// Sign-in end to end: the chat server asks an AuthService that requires
// mutual TLS, and the logs never show the token or the text.
func TestSignInOverMutualTLSAndRequestLogs(t *testing.T) {
	certs, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	authTLS, err := tlsconfig.Server(certs.Server, certs.ServerKey, certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	authAddr := serveAuth(t, authTLS)
	s := start(t, testConfig(t, "-auth-server", authAddr, "-auth-ca", certs.CA, "-auth-cert", certs.Client, "-auth-key", certs.ClientKey, "-log-level", "debug"))
	cc := dial(t, s.Addr().String(), nil)

	alice, welcome := join(t, cc, "authorization", "Bearer tok-alice", "chat-user", "mallory")
	if welcome.GetMessage() != "Welcome, alice! You are in room general." {
		t.Fatalf("welcome = %q", welcome.GetMessage())
	}
	bob, _ := join(t, cc, "authorization", "Bearer tok-alice")
	recv(t, alice) // alice(2) joined
	if err := alice.Send(&chatpb.ChatMessage{Message: "the secret plan"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, bob); m.GetUser() != "alice" || m.GetMessage() != "the secret plan" {
		t.Fatalf("got %v", m)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer forged-token-xyz"), wait)
	defer cancel()
	st, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("forged token: %v", err)
	}
	if err := alice.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, bob); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Fatalf("got %v, want alice's leave", m)
	}
	// Alice's stream has ended, so its request log line is written.
	if _, err := alice.Recv(); err != io.EOF {
		t.Fatalf("alice: %v", err)
	}

	logs := s.logs.String()
	for _, secret := range []string{"tok-alice", "forged-token-xyz", "secret plan", "Bearer"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"msg=\"rpc finished call\"", "grpc.method=ChatStream", "grpc.code=Unauthenticated", "grpc.code=OK", "peer.address=127.0.0.1:", "grpc.time_ms="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	s := start(t, testConfig(t, "-max-connections", "1"))
	addr := s.Addr().String()
	if err := checkHealth(dial(t, addr, nil)); err != nil {
		t.Fatal(err)
	}
	if err := checkHealth(dial(t, addr, nil)); status.Code(err) != codes.Unavailable {
		t.Fatalf("second connection: %v, want UNAVAILABLE", err)
	}
	if !strings.Contains(s.logs.String(), "level=WARN msg=\"too many connections; closed a new one\"") {
		t.Fatalf("no warning logged:\n%s", s.logs.String())
	}
}

// The server announces its stream limit in its HTTP/2 SETTINGS, and a
// client over it waits for a stream to end.
func TestMaxStreamsPerConnection(t *testing.T) {
	s := start(t, testConfig(t, "-max-streams-per-conn", "1"))
	addr := s.Addr().String()

	conn, fr := rawHTTP2(t, addr)
	defer conn.Close()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxConcurrentStreams); !ok || v != 1 {
				t.Fatalf("MAX_CONCURRENT_STREAMS = %d (%v), want 1", v, ok)
			}
			break
		}
	}

	cc := dial(t, addr, nil)
	first, _ := join(t, cc, "chat-user", "First")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	second, err := chatpb.NewChatServiceClient(cc).ChatStream(ctx)
	if err == nil {
		_, err = second.Recv()
	}
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("second stream on the connection: %v, want it kept waiting", err)
	}
	// Once the first ends, the connection takes a new stream.
	if err := first.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE}); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Recv(); err != io.EOF {
		t.Fatalf("first: %v", err)
	}
	if _, welcome := join(t, cc, "chat-user", "Third"); welcome.GetKind() != chatpb.ChatMessage_KIND_SYSTEM {
		t.Fatalf("third stream: %v", welcome)
	}
}

// rawHTTP2 opens a plaintext HTTP/2 connection and sends the preface.
func rawHTTP2(t *testing.T, addr string) (net.Conn, *http2.Framer) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return conn, fr
}

// A client pinging more often than the keepalive policy allows is told
// GOAWAY "too_many_pings" and disconnected.
func TestKeepaliveEnforcement(t *testing.T) {
	if KeepaliveMinTime != 10*time.Second {
		t.Fatalf("KeepaliveMinTime = %v; clients are documented to ping at most every 10s", KeepaliveMinTime)
	}
	s := start(t, testConfig(t))
	conn, fr := rawHTTP2(t, s.Addr().String())
	defer conn.Close()
	go func() {
		for i := range 10 {
			if fr.WritePing(false, [8]byte{byte(i)}) != nil {
				return
			}
		}
	}()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY before %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			if ga.ErrCode != http2.ErrCodeEnhanceYourCalm || string(ga.DebugData()) != "too_many_pings" {
				t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", ga.ErrCode, ga.DebugData())
			}
			return
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := start(t, testConfig(t))
	cc := dial(t, s.Addr().String(), nil)
	if err := checkHealth(cc); err != nil {
		t.Fatal(err)
	}
	alice, _ := join(t, cc, "chat-user", "Alice")
	bob, _ := join(t, cc, "chat-user", "Bob")
	recv(t, alice) // Bob joined
	if err := alice.Send(&chatpb.ChatMessage{Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	recv(t, bob)

	resp, err := http.Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	lines := "\n" + string(body)
	for _, want := range []string{
		"\npolychat_chat_connected_clients 2\n",
		"\npolychat_chat_rooms 1\n",
		"\npolychat_chat_messages_received_total 1\n",
		"\npolychat_chat_messages_sent_total 4\n",
		"\npolychat_chat_slow_client_drops_total 0\n",
		"\npolychat_server_connections_open 1\n",
		"\npolychat_chat_disconnects_total{code=\"ResourceExhausted\"} 0\n",
		"\ngrpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\",grpc_type=\"unary\"} 1\n",
		"\ngrpc_server_started_total{grpc_method=\"ChatStream\",grpc_service=\"chat.ChatService\",grpc_type=\"bidi_stream\"} 2\n",
		"\ngrpc_server_handling_seconds_bucket{grpc_method=\"Check\"",
		"\ngo_goroutines ",
		"\npolychat_broker_connected 1\n",
		"\npolychat_broker_store_failures_total 0\n",
		"\npolychat_broker_store_seconds_count ",
		"\npolychat_broker_delivery_lag_seconds_count ",
		"\npolychat_broker_pending_records ",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	// The text and the notices were stored, and came back.
	for _, none := range []string{"\npolychat_broker_store_seconds_count 0\n", "\npolychat_broker_delivery_lag_seconds_count 0\n"} {
		if strings.Contains(lines, none) {
			t.Errorf("/metrics has %q", strings.TrimSpace(none))
		}
	}
}

func TestMetricsPortBusyIsNotFatal(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := start(t, testConfig(t, "-metrics-addr", busy.Addr().String()))
	if s.MetricsAddr() != nil {
		t.Fatalf("metrics on %v", s.MetricsAddr())
	}
	if err := checkHealth(dial(t, s.Addr().String(), nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), "level=ERROR msg=\"cannot serve metrics; going on without them\"") {
		t.Fatalf("no error logged:\n%s", s.logs.String())
	}
}

func TestMetricsOff(t *testing.T) {
	s := start(t, testConfig(t, "-metrics-addr", ""))
	if s.MetricsAddr() != nil || s.Registry() != nil {
		t.Fatal("metrics are on")
	}
	if err := checkHealth(dial(t, s.Addr().String(), nil)); err != nil {
		t.Fatal(err)
	}
}

func TestBadTLSFiles(t *testing.T) {
	certs, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, args := range [][]string{
		{"-tls-cert", "/nonexistent.pem", "-tls-key", certs.ServerKey},
		{"-tls-cert", certs.Server, "-tls-key", certs.ClientKey},
		{"-tls-cert", certs.Server, "-tls-key", certs.ServerKey, "-tls-client-ca", certs.ServerKey},
		{"-auth-server", "127.0.0.1:1", "-auth-ca", "/nonexistent.pem"},
	} {
		if s, err := New(testConfig(t, args...), log); err == nil || strings.Contains(err.Error(), "\n") {
			if s != nil {
				s.Close()
			}
			t.Errorf("%v: %v, want a one-line error", args, err)
		}
	}
}

// A -data-dir the server cannot write is one line at start, at once, not a
// server waiting for NATS to store nothing.
func TestUnusableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "below")} {
		s, err := New(testConfig(t, "-data-dir", dir), slog.New(slog.DiscardHandler))
		if err == nil {
			s.Close()
			t.Fatalf("-data-dir %s: no error", dir)
		}
		if want := "cannot use -data-dir " + dir + ": "; !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("-data-dir %s: %q, want one line starting %q", dir, err, want)
		}
	}
}

// Two chat servers never open one -data-dir (its NATS store) at once: the
// second is one line naming the first; once the first stops, it is free.
func TestDataDirIsOneServers(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	first, err := New(testConfig(t, "-data-dir", dir), log)
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(testConfig(t, "-data-dir", dir), log)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second server opened the same -data-dir")
	}
	want := fmt.Sprintf("cannot use -data-dir %s: another chat server (process %d) is using it", dir, os.Getpid())
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("second server: %q, want it to start %q", err, want)
	}
	first.Close()
	third, err := New(testConfig(t, "-data-dir", dir), log)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	third.Close()
}
