package chat

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/signin"
)

// fakeAuthService knows the tokens "tok-alice" and "tok-alice-2" (both
// alice's), "tok-bob" and "tok-carol", and counts ValidateSession calls.
type fakeAuthService struct {
	authv1.UnimplementedAuthServiceServer
	calls atomic.Int64
}

func (f *fakeAuthService) ValidateSession(_ context.Context, req *authv1.ValidateSessionRequest) (*authv1.ValidateSessionResponse, error) {
	f.calls.Add(1)
	switch req.GetSessionId() {
	case "tok-alice", "tok-alice-2":
		return &authv1.ValidateSessionResponse{Username: "alice"}, nil
	case "tok-bob":
		return &authv1.ValidateSessionResponse{Username: "bob"}, nil
	case "tok-carol":
		return &authv1.ValidateSessionResponse{Username: "carol"}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "unknown session")
}

// startAuth serves a fake AuthService over bufconn and returns a real
// Checker asking it.
func startAuth(t *testing.T) (*fakeAuthService, *signin.Checker, *grpc.Server) {
	t.Helper()
	f := &fakeAuthService{}
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	authv1.RegisterAuthServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///auth",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return f, signin.NewChecker(authv1.NewAuthServiceClient(cc), signin.Options{Logger: slog.New(slog.DiscardHandler)}), srv
}

func TestSignedInNameIsTheChatName(t *testing.T) {
	f, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk})

	bob := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob"))
	bob.expect(kSys, "Welcome, bob! You are in room general.")
	// Alice asks to be called bob: she is alice all the same.
	alice := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-alice", chatwire.UserKey, "bob"))
	alice.expect(kSys, "Welcome, alice! You are in room general.")
	bob.expect(kJoin, "alice joined the room")

	// The user field renames nobody who is signed in.
	if err := alice.stream.Send(&chatpb.ChatMessage{User: "bob", Message: "I am bob"}); err != nil {
		t.Fatal(err)
	}
	bob.expectText("alice", "I am bob")

	// The same user signed in twice is still told apart, and the scheme is
	// case-insensitive.
	alice2 := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "bearer tok-alice-2"))
	alice2.expect(kSys, "Welcome, alice(2)! You are in room general.")

	// A second stream with a known token is answered from the cache.
	again := newClient(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-bob"))
	again.expect(kSys, "Welcome, bob(2)! You are in room general.")
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("%d ValidateSession calls for 3 distinct tokens, want 3", n)
	}
}

func TestSignInRequired(t *testing.T) {
	_, chk, _ := startAuth(t)
	ts := startServer(t, Config{Auth: chk})
	for _, tc := range []struct {
		md   []string
		want string
	}{
		{nil, "sign in first: missing bearer token"},
		{[]string{chatwire.UserKey, "alice"}, "sign in first: missing bearer token"},
		{[]string{chatwire.AuthorizationKey, "Basic YWxpY2U6c2VjcmV0"}, "sign in first: missing bearer token"},
		{[]string{chatwire.AuthorizationKey, "Bearer "}, "sign in first: missing bearer token"},
		{[]string{chatwire.AuthorizationKey, "Bearer forged"}, "session is invalid or expired"},
	} {
		err := recvUntilErr(t, ts.open(t, nil, tc.md...))
		if code(err) != codes.Unauthenticated || status.Convert(err).Message() != tc.want {
			t.Errorf("metadata %q: %v, want UNAUTHENTICATED %q", tc.md, err, tc.want)
		}
	}
}

func TestSignInWithAuthServiceDown(t *testing.T) {
	_, chk, srv := startAuth(t)
	srv.Stop()
	ts := startServer(t, Config{Auth: chk})
	err := recvUntilErr(t, ts.open(t, nil, chatwire.AuthorizationKey, "Bearer tok-alice"))
	if code(err) != codes.Unavailable || status.Convert(err).Message() != "cannot check your session: auth service unavailable" {
		t.Fatalf("auth down: %v, want UNAVAILABLE", err)
	}
}
