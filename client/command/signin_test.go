package command

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	"github.com/polychat/polychat/tools/devcerts/certgen"
)

// fakeAuth accepts Alice/secret, and records logouts.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
	logouts chan string
}

func (f *fakeAuth) Login(_ context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	if req.GetUsername() != "Alice" || req.GetPassword() != "secret" {
		return nil, status.Error(codes.Unauthenticated, "Invalid username or password")
	}
	return &authv1.LoginResponse{SessionId: "tok-alice", Username: "Alice"}, nil
}

func (f *fakeAuth) Logout(_ context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	f.logouts <- req.GetSessionId()
	return &authv1.LogoutResponse{}, nil
}

func serveAuth(t *testing.T, opts ...grpc.ServerOption) (string, *fakeAuth) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAuth{logouts: make(chan string, 1)}
	srv := grpc.NewServer(opts...)
	authv1.RegisterAuthServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), f
}

func TestLoginFromPipe(t *testing.T) {
	authAddr, auth := serveAuth(t)
	chat := &fakeChat{got: make(chan string, 10), auth: make(chan string, 1)}
	addr := serve(t, chat)
	// The first input line is the password; the rest is chat.
	code, _, stderr := runCmd(t, "secret\nhello\n", map[string]string{"AUTH_SERVER": authAddr}, "-login", "Alice", "general", addr)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := <-chat.auth; got != "Bearer tok-alice" {
		t.Errorf("authorization = %q", got)
	}
	if got := <-chat.got; got != "Alice: hello" {
		t.Errorf("chat got %q; the password must not be sent as text", got)
	}
	if got := <-auth.logouts; got != "tok-alice" {
		t.Errorf("logout of %q", got)
	}
}

func TestLoginFailures(t *testing.T) {
	authAddr, _ := serveAuth(t)
	addr := serve(t, &fakeChat{got: make(chan string, 10)})
	code, _, stderr := runCmd(t, "wrong\n", nil, "-login", "-auth-server", authAddr, "Alice", "general", addr)
	if code != 1 || stderr != "error: sign-in failed: invalid username or password\n" {
		t.Errorf("bad password: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "secret\n", map[string]string{"AUTH_SERVER": authAddr}, "-login", "-server", addr)
	if code != 2 || !strings.Contains(stderr, "-login needs your name") {
		t.Errorf("no name: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "", nil, "-login", "-token", "x", "Alice")
	if code != 2 || !strings.Contains(stderr, "not both") {
		t.Errorf("-login and -token: exit %d, stderr %q", code, stderr)
	}
}

func TestTokenAndServerRejection(t *testing.T) {
	chat := &fakeChat{got: make(chan string, 10), auth: make(chan string, 1)}
	addr := serve(t, chat)
	code, _, stderr := runCmd(t, "", map[string]string{"CHAT_TOKEN": "tok-env"}, "-server", addr)
	if code != 0 || <-chat.auth != "Bearer tok-env" {
		t.Fatalf("CHAT_TOKEN: exit %d, stderr %q", code, stderr)
	}
	rejecting := serve(t, &fakeChat{endAtOnce: true, endWith: status.Error(codes.Unauthenticated, "session is invalid or expired")})
	code, _, stderr = runCmd(t, "", nil, "-token", "stale", "-server", rejecting)
	if code != 1 || stderr != "error: sign-in failed: session is invalid or expired\n" {
		t.Errorf("rejected token: exit %d, stderr %q", code, stderr)
	}
}

func TestTLSFlags(t *testing.T) {
	good, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.Generate(t.TempDir(), certgen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(good.Server, good.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	creds := grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	_, port, _ := net.SplitHostPort(serve(t, &fakeChat{got: make(chan string, 10)}, creds))
	addr := "127.0.0.1:" + port // not localhost: [::1]:port may be another test's

	code, stdout, stderr := runCmd(t, "", nil, "-ca", good.CA, "Alice", "general", addr)
	if code != 0 || !strings.Contains(stdout, "Welcome, Alice!") {
		t.Fatalf("-ca: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCmd(t, "", map[string]string{"POLYCHAT_TLS_CA": other.CA}, "Alice", "general", addr)
	if want := "error: cannot reach chat server at " + addr + ": TLS handshake failed: certificate signed by unknown authority\n"; code != 1 || stderr != want {
		t.Errorf("wrong CA: exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
	code, _, stderr = runCmd(t, "", nil, "-cert", good.Client, addr)
	if code != 2 || !strings.Contains(stderr, "-cert and -key") {
		t.Errorf("-cert alone: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "", nil, "-ca", "/nonexistent.pem", addr)
	if code != 1 || !strings.HasPrefix(stderr, "error: cannot read CA file") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("missing CA: exit %d, stderr %q", code, stderr)
	}
}
