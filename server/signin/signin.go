// Package signin checks chat session tokens with the AuthService
// (polychat.auth.v1.AuthService/ValidateSession), remembering valid sessions
// for a short time so that a busy chat server does not ask for every stream.
package signin

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
)

// Defaults for zero Options fields.
const (
	DefaultTTL        = 30 * time.Second
	DefaultMaxEntries = 10000
	DefaultTimeout    = 3 * time.Second
)

// The errors Authenticate returns, as the chat client shows them.
var (
	ErrInvalid     = status.Error(codes.Unauthenticated, "session is invalid or expired")
	ErrUnavailable = status.Error(codes.Unavailable, "cannot check your session: auth service unavailable")
)

// Options configures a Checker.
type Options struct {
	// TTL is how long a valid session is remembered; never past the
	// session's own expiry. Zero means DefaultTTL; negative turns caching off.
	TTL time.Duration
	// MaxEntries bounds the cache. Zero means DefaultMaxEntries.
	MaxEntries int
	// Timeout bounds one ValidateSession call. Zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives failures to reach the AuthService. Nil means
	// slog.Default(). Tokens are never logged.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Checker validates session tokens. It implements chat.Authenticator and is
// safe for concurrent use.
type Checker struct {
	client authv1.AuthServiceClient
	opts   Options

	mu    sync.Mutex
	cache map[[sha256.Size]byte]entry
}

// entry is a remembered valid session. Tokens are kept only as hashes.
type entry struct {
	user  string
	until time.Time // when to ask again: min(cached at + TTL, session expiry)
}

// NewChecker returns a Checker asking client.
func NewChecker(client authv1.AuthServiceClient, opts Options) *Checker {
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Checker{client: client, opts: opts, cache: make(map[[sha256.Size]byte]entry)}
}

// Authenticate returns the name of the user signed in with token. It fails
// with ErrInvalid for a token the AuthService rejects or that has expired,
// with ErrUnavailable when the AuthService cannot be asked, and with
// CANCELED or DEADLINE_EXCEEDED when ctx ends first. Failures are not
// remembered.
func (c *Checker) Authenticate(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", ErrInvalid
	}
	key := sha256.Sum256([]byte(token))
	if user, ok := c.cached(key); ok {
		return user, nil
	}

	callCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.client.ValidateSession(callCtx, &authv1.ValidateSessionRequest{SessionId: token})
	if err != nil {
		if ctx.Err() != nil {
			return "", status.FromContextError(ctx.Err()).Err()
		}
		switch code := status.Code(err); code {
		case codes.Unauthenticated, codes.NotFound, codes.InvalidArgument, codes.PermissionDenied:
			return "", ErrInvalid
		default:
			// The status message is not logged: it might quote the token.
			c.opts.Logger.Warn("cannot check a session with the auth service", "code", code)
			return "", ErrUnavailable
		}
	}
	user := resp.GetUsername()
	now := c.opts.Now()
	until := now.Add(c.opts.TTL)
	if exp := resp.GetExpiresAt(); exp != nil {
		expires := exp.AsTime()
		if !expires.After(now) {
			return "", ErrInvalid
		}
		if expires.Before(until) {
			until = expires
		}
	}
	if user == "" {
		return "", ErrInvalid
	}
	if c.opts.TTL > 0 {
		c.remember(key, entry{user: user, until: until}, now)
	}
	return user, nil
}

// cached returns the user of a remembered, still valid session.
func (c *Checker) cached(key [sha256.Size]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok {
		return "", false
	}
	if !c.opts.Now().Before(e.until) {
		delete(c.cache, key)
		return "", false
	}
	return e.user, true
}

// remember keeps e, making room first when the cache is full: expired
// entries go, and if that is not enough, arbitrary ones.
func (c *Checker) remember(key [sha256.Size]byte, e entry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cache[key]; !ok && len(c.cache) >= c.opts.MaxEntries {
		for k, old := range c.cache {
			if !now.Before(old.until) {
				delete(c.cache, k)
			}
		}
		for k := range c.cache {
			if len(c.cache) < c.opts.MaxEntries {
				break
			}
			delete(c.cache, k)
		}
	}
	c.cache[key] = e
}

// Len returns the number of remembered sessions.
func (c *Checker) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cache)
}
