package chatclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
)

func errUnauthenticated(msg string) error { return status.Error(codes.Unauthenticated, msg) }

// fakeAuth accepts alice/secret and records logouts.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
	logouts chan string
}

func (f *fakeAuth) Login(_ context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	if req.GetUsername() != "alice" || req.GetPassword() != "secret" {
		return nil, errUnauthenticated("Invalid username or password")
	}
	return &authv1.LoginResponse{SessionId: "tok-alice", Username: "alice", Message: "Login successful"}, nil
}

func (f *fakeAuth) Logout(_ context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	f.logouts <- req.GetSessionId()
	return &authv1.LogoutResponse{Message: "Logout successful"}, nil
}

func startAuth(t *testing.T) (AuthConfig, *fakeAuth) {
	t.Helper()
	f := &fakeAuth{logouts: make(chan string, 1)}
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	authv1.RegisterAuthServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return AuthConfig{
		Server: "passthrough:///auth",
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return lis.DialContext(ctx)
		})},
	}, f
}

func TestLogin(t *testing.T) {
	cfg, f := startAuth(t)
	token, err := Login(context.Background(), cfg, "alice", "secret")
	if err != nil || token != "tok-alice" {
		t.Fatalf("Login = %q, %v", token, err)
	}
	if err := Logout(context.Background(), cfg, token); err != nil {
		t.Fatal(err)
	}
	if got := <-f.logouts; got != "tok-alice" {
		t.Fatalf("logout of %q", got)
	}

	_, err = Login(context.Background(), cfg, "alice", "wrong")
	var sie *SignInError
	if !errors.As(err, &sie) || err.Error() != "sign-in failed: invalid username or password" {
		t.Fatalf("wrong password: %v (%T)", err, err)
	}
}

func TestLoginUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	_, err = Login(context.Background(), AuthConfig{Server: addr}, "alice", "secret")
	var se *ServerError
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "cannot reach auth server at "+addr+": ") {
		t.Fatalf("Login = %v (%T), want cannot reach auth server", err, err)
	}
}
