// Command interop checks that Go clients and Polychat's Python services agree:
// it runs named checks covering all four RPC patterns of UserService and
// StreamingService and prints one line per check, then a summary.
//
//	go run ./interop -user localhost:50057 -streaming localhost:50056
//
// Each check prints "PASS <name> (<time>)" or "FAIL <name>: <reason>"; the
// last line is "N passed, M failed". The exit status is 0 only if every check
// passed, 1 if any failed and 2 for bad usage. The checks live in package
// checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polychat/polychat/interop/checks"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// Defaults for the service addresses, used when neither a flag nor the
// environment names one.
const (
	defaultUser      = "localhost:50057"
	defaultStreaming = "localhost:50056"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command, with its environment passed in.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	flags := flag.NewFlagSet("interop", flag.ContinueOnError)
	flags.SetOutput(stderr)
	user := flags.String("user", envOr(getenv, "USER_SERVER", defaultUser), "UserService address (env USER_SERVER)")
	streaming := flags.String("streaming", envOr(getenv, "STREAMING_SERVER", defaultStreaming), "StreamingService address (env STREAMING_SERVER)")
	timeout := flags.Duration("timeout", 10*time.Second, "time limit for each check")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "error: unexpected arguments %q (see -h)\n", flags.Args())
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "error: -timeout must be positive, got %s\n", *timeout)
		return exitUsage
	}

	userConn, err := dial(*user)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	defer userConn.Close()
	streamingConn, err := dial(*streaming)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	defer streamingConn.Close()

	clients, err := checks.NewClients(userConn, streamingConn)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitFailed
	}
	results := checks.RunAll(ctx, clients, checks.All(), *timeout, func(r checks.Result) {
		fmt.Fprintln(stdout, r)
	})
	fmt.Fprintln(stdout, checks.Summary(results))
	for _, r := range results {
		if !r.Passed() {
			return exitFailed
		}
	}
	return exitOK
}

// dial makes a plaintext client for addr; no I/O happens until the first RPC.
func dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", addr, err)
	}
	return conn, nil
}

func envOr(getenv func(string) string, key, fallback string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return fallback
}
