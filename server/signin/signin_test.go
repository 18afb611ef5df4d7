package signin

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
)

// fakeAuth knows a set of sessions and counts ValidateSession calls.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
	calls atomic.Int64

	mu       sync.Mutex
	sessions map[string]*authv1.ValidateSessionResponse
}

func (f *fakeAuth) ValidateSession(_ context.Context, req *authv1.ValidateSessionRequest) (*authv1.ValidateSessionResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[req.GetSessionId()]; ok {
		return s, nil
	}
	return nil, status.Error(codes.Unauthenticated, "invalid session "+req.GetSessionId())
}

func (f *fakeAuth) set(token string, resp *authv1.ValidateSessionResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if resp == nil {
		delete(f.sessions, token)
	} else {
		f.sessions[token] = resp
	}
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// start serves a fake AuthService over bufconn and returns a client of it.
func start(t *testing.T) (*fakeAuth, authv1.AuthServiceClient, *grpc.Server) {
	t.Helper()
	f := &fakeAuth{sessions: map[string]*authv1.ValidateSessionResponse{}}
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
	return f, authv1.NewAuthServiceClient(cc), srv
}

func newChecker(client authv1.AuthServiceClient, c *clock, opts Options) *Checker {
	opts.Now = c.Now
	opts.Logger = slog.New(slog.DiscardHandler)
	return NewChecker(client, opts)
}

func TestValidSessionIsCached(t *testing.T) {
	f, client, _ := start(t)
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	f.set("tok", &authv1.ValidateSessionResponse{Username: "alice", ExpiresAt: timestamppb.New(c.now.Add(time.Hour))})
	chk := newChecker(client, c, Options{TTL: 30 * time.Second})
	ctx := context.Background()
	for range 3 {
		if user, err := chk.Authenticate(ctx, "tok"); err != nil || user != "alice" {
			t.Fatalf("Authenticate = %q, %v", user, err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("%d ValidateSession calls, want 1 (cached)", n)
	}
	// After the TTL the AuthService is asked again, and learns of a logout.
	f.set("tok", nil)
	c.advance(30 * time.Second)
	if _, err := chk.Authenticate(ctx, "tok"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("after TTL and logout: %v, want ErrInvalid", err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestExpiredSessionIsNotServedFromCache(t *testing.T) {
	f, client, _ := start(t)
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	expires := c.now.Add(5 * time.Second) // before the 30s TTL
	f.set("tok", &authv1.ValidateSessionResponse{Username: "alice", ExpiresAt: timestamppb.New(expires)})
	chk := newChecker(client, c, Options{TTL: 30 * time.Second})
	if _, err := chk.Authenticate(context.Background(), "tok"); err != nil {
		t.Fatal(err)
	}
	c.advance(5 * time.Second) // now == expires
	// Even if the AuthService still (wrongly) vouches for it, an expired
	// session is refused.
	if _, err := chk.Authenticate(context.Background(), "tok"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired session: %v, want ErrInvalid", err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2: the expired entry must not be served", n)
	}
}

func TestInvalidTokensAreNotCached(t *testing.T) {
	f, client, _ := start(t)
	chk := newChecker(client, &clock{now: time.Unix(1_800_000_000, 0)}, Options{})
	for range 2 {
		_, err := chk.Authenticate(context.Background(), "nope")
		if !errors.Is(err, ErrInvalid) || status.Code(err) != codes.Unauthenticated {
			t.Fatalf("invalid token: %v", err)
		}
		if status.Convert(err).Message() != "session is invalid or expired" {
			t.Fatalf("message %q", status.Convert(err).Message())
		}
	}
	if _, err := chk.Authenticate(context.Background(), ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty token: %v", err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
	if chk.Len() != 0 {
		t.Fatalf("cache holds %d entries", chk.Len())
	}
}

func TestAuthServiceDown(t *testing.T) {
	f, client, srv := start(t)
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	f.set("tok", &authv1.ValidateSessionResponse{Username: "alice"})
	chk := newChecker(client, c, Options{})
	srv.Stop()
	_, err := chk.Authenticate(context.Background(), "tok")
	if !errors.Is(err, ErrUnavailable) || status.Convert(err).Message() != "cannot check your session: auth service unavailable" {
		t.Fatalf("auth down: %v, want ErrUnavailable", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	f, client, _ := start(t)
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	chk := newChecker(client, c, Options{MaxEntries: 3})
	for _, tok := range []string{"a", "b", "c", "d", "e"} {
		f.set(tok, &authv1.ValidateSessionResponse{Username: "u" + tok})
		if _, err := chk.Authenticate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		if chk.Len() > 3 {
			t.Fatalf("cache grew to %d entries", chk.Len())
		}
	}
}

func TestCachingOff(t *testing.T) {
	f, client, _ := start(t)
	f.set("tok", &authv1.ValidateSessionResponse{Username: "alice"})
	chk := newChecker(client, &clock{now: time.Unix(1_800_000_000, 0)}, Options{TTL: -1})
	for range 2 {
		if _, err := chk.Authenticate(context.Background(), "tok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}
