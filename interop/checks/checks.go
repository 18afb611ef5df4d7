// Package checks holds Polychat's cross-language interop checks: each one
// drives the Python UserService or StreamingService through the generated Go
// clients and asserts what the server actually does, not merely that a call
// returned without an error.
package checks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	streamingv1 "github.com/polychat/polychat/gen/go/polychat/streaming/v1"
	userv1 "github.com/polychat/polychat/gen/go/polychat/user/v1"
)

// Clients are what the checks talk to, plus a token unique to this run that
// keeps the emails and file names a run creates apart from any other run's.
type Clients struct {
	user      userv1.UserServiceClient
	streaming streamingv1.StreamingServiceClient
	runID     string
}

// NewClients returns Clients for the user and streaming services reachable
// through the given connections, with a fresh random run id.
func NewClients(user, streaming grpc.ClientConnInterface) (*Clients, error) {
	id, err := newRunID()
	if err != nil {
		return nil, err
	}
	return &Clients{
		user:      userv1.NewUserServiceClient(user),
		streaming: streamingv1.NewStreamingServiceClient(streaming),
		runID:     id,
	}, nil
}

// User returns the UserService client.
func (c *Clients) User() userv1.UserServiceClient { return c.user }

// Streaming returns the StreamingService client.
func (c *Clients) Streaming() streamingv1.StreamingServiceClient { return c.streaming }

// RunID returns the token that makes this run's emails and file names unique.
func (c *Clients) RunID() string { return c.runID }

// email returns an address unique to this run and tag.
func (c *Clients) email(tag string) string {
	return fmt.Sprintf("interop-%s-%s@example.com", c.runID, tag)
}

func newRunID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Check is one named interop check.
type Check struct {
	// Name says what is checked; it starts with the RPC pattern and method.
	Name string
	// Run performs the check, returning why it failed, or nil.
	Run func(ctx context.Context, c *Clients) error
}

// All returns every check, in the order they run: UserService first (unary,
// server, client and bidirectional streaming), then StreamingService.
func All() []Check {
	return []Check{
		{"unary GetUser(1) is Alice Johnson", checkGetSampleUser},
		{"unary GetUser(unknown id) is NOT_FOUND", checkGetUnknownUser},
		{"unary CreateUser then GetUser returns the new user", checkCreateThenGet},
		{"unary CreateUser with a taken email is ALREADY_EXISTS", checkDuplicateEmail},
		{"unary CreateUser with an invalid email is INVALID_ARGUMENT", checkInvalidEmail},
		{"server-stream ListUsers(limit=2) yields 2 users in id order", checkListUsers},
		{"client-stream BatchCreateUsers stores 3 retrievable users", checkBatchCreate},
		{"bidi StreamUsers answers each of 3 messages", checkStreamUsers},
		{"server-stream StreamServerTime sends increasing times until cancelled", checkServerTime},
		{"client-stream UploadFile stores 2.5 MiB with matching size and sha256", checkUpload},
		{"bidi Chat relays joins and messages between two Go streams", checkChat},
	}
}

// Result is the outcome of one check.
type Result struct {
	name    string
	err     error
	elapsed time.Duration
}

// Name returns the check's name.
func (r Result) Name() string { return r.name }

// Err returns why the check failed, or nil if it passed.
func (r Result) Err() error { return r.err }

// Elapsed returns how long the check ran.
func (r Result) Elapsed() time.Duration { return r.elapsed }

// Passed reports whether the check passed.
func (r Result) Passed() bool { return r.err == nil }

// String is the one line reported for the check: "PASS name (12ms)" or
// "FAIL name: reason", always on a single line.
func (r Result) String() string {
	if r.err == nil {
		return fmt.Sprintf("PASS %s (%s)", r.name, r.elapsed.Round(time.Millisecond))
	}
	reason := strings.Join(strings.Fields(r.err.Error()), " ")
	return fmt.Sprintf("FAIL %s: %s", r.name, reason)
}

// RunAll runs the checks one after another, each under its own timeout
// derived from ctx, and calls report (if not nil) with each result as soon as
// it is known. A check that panics fails; the others still run.
func RunAll(ctx context.Context, c *Clients, checks []Check, timeout time.Duration, report func(Result)) []Result {
	results := make([]Result, 0, len(checks))
	for _, check := range checks {
		r := runOne(ctx, c, check, timeout)
		results = append(results, r)
		if report != nil {
			report(r)
		}
	}
	return results
}

func runOne(ctx context.Context, c *Clients, check Check, timeout time.Duration) (r Result) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	r.name = check.Name
	defer func() {
		r.elapsed = time.Since(start)
		if p := recover(); p != nil {
			r.err = fmt.Errorf("check panicked: %v", p)
		}
	}()
	r.err = check.Run(ctx, c)
	if r.err != nil && ctx.Err() != nil && !errors.Is(r.err, ctx.Err()) {
		r.err = fmt.Errorf("%w (check stopped after %s: %w)", r.err, timeout, ctx.Err())
	}
	return r
}

// Summary returns the final line, "N passed, M failed".
func Summary(results []Result) string {
	passed := 0
	for _, r := range results {
		if r.Passed() {
			passed++
		}
	}
	return fmt.Sprintf("%d passed, %d failed", passed, len(results)-passed)
}

// wantCode returns nil if err carries the status code want, and otherwise an
// error saying what came back instead.
func wantCode(err error, want codes.Code) error {
	if err == nil {
		return fmt.Errorf("succeeded, want %s", want)
	}
	if got := status.Code(err); got != want {
		return fmt.Errorf("got %s, want %s: %w", got, want, err)
	}
	return nil
}
