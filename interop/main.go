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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/interop/checks"
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

// env names the environment variable of each flag that has one.
var env = map[string]cli.Var{
	"user":      {Name: "USER_SERVER"},
	"streaming": {Name: "STREAMING_SERVER"},
}

// options is what the command line asks for.
type options struct {
	user, streaming string
	timeout         time.Duration
}

// parseArgs reads the command line and the environment; on -h it writes
// the usage to stderr and returns cli.ErrHelp.
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("interop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.user, "user", defaultUser, "UserService address (env USER_SERVER)")
	fs.StringVar(&o.streaming, "streaming", defaultStreaming, "StreamingService address (env STREAMING_SERVER)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit for each check")
	rest, err := cli.Parse(fs, args)
	if err != nil {
		return o, err
	}
	if len(rest) > 0 {
		return o, fmt.Errorf("unexpected arguments %q", rest)
	}
	if err := cli.SetFromEnv(fs, env, cli.LookupEnv(getenv), func(string) {}); err != nil {
		return o, err
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout must be positive, got %s", o.timeout)
	}
	return o, nil
}

// run is the whole command, with its environment passed in.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	o, err := parseArgs(args, getenv, stderr)
	if err != nil {
		return cli.Fail(stderr, "interop", err)
	}
	userConn, err := dial(o.user)
	if err != nil {
		return cli.Fail(stderr, "interop", err)
	}
	defer userConn.Close()
	streamingConn, err := dial(o.streaming)
	if err != nil {
		return cli.Fail(stderr, "interop", err)
	}
	defer streamingConn.Close()

	clients, err := checks.NewClients(userConn, streamingConn)
	if err != nil {
		fmt.Fprintf(stderr, "interop: %v\n", err)
		return cli.ExitError
	}
	timeout := o.timeout
	results := checks.RunAll(ctx, clients, checks.All(), timeout, func(r checks.Result) {
		fmt.Fprintln(stdout, r)
	})
	fmt.Fprintln(stdout, checks.Summary(results))
	for _, r := range results {
		if !r.Passed() {
			return cli.ExitError
		}
	}
	return cli.ExitOK
}

// dial makes a plaintext client for addr; no I/O happens until the first RPC.
func dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", addr, err)
	}
	return conn, nil
}
