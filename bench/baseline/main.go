// Command baseline is the chat bench's reference: a minimal grpc-go
// bidirectional fan-out server on the chat.ChatService wire, with no chat
// logic. Each stream has a bounded queue and one writer goroutine; every
// message received is forwarded undecoded, with the fields Polychat's server
// adds appended so deliveries are the same size, to every other stream. A
// stream whose queue is full is ended with RESOURCE_EXHAUSTED, as in Polychat.
//
// It stops on SIGINT or SIGTERM, and after -max-lifetime in any case.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options is what the command line asks for.
type options struct {
	addr     string
	queue    int
	lifetime time.Duration
}

// parseArgs reads the command line; on -h it writes the usage to stderr and
// returns cli.ErrHelp.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "TCP address to listen on")
	fs.IntVar(&o.queue, "queue", chatwire.QueueSize, "messages queued per stream before it is ended as too slow")
	fs.DurationVar(&o.lifetime, "max-lifetime", 15*time.Minute, "exit after this long whatever happens")
	rest, err := cli.Parse(fs, args)
	switch {
	case err != nil:
		return o, err
	case len(rest) > 0:
		return o, fmt.Errorf("unexpected argument %q", rest[0])
	case o.queue <= 0:
		return o, fmt.Errorf("-queue must be more than 0, not %d", o.queue)
	case o.lifetime <= 0:
		return o, errors.New("-max-lifetime must be more than 0")
	}
	return o, nil
}

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if err != nil {
		return cli.Fail(stderr, "baseline", err)
	}
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	lis, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintln(stderr, "baseline:", err)
		return cli.ExitError
	}
	srv := grpc.NewServer(codecOption(), grpc.MaxConcurrentStreams(100_000))
	newHub(o.queue).register(srv)
	// The driver reads the port from this line.
	fmt.Fprintf(stdout, "listening on %s\n", lis.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
		case <-time.After(o.lifetime):
		}
		srv.Stop()
	}()
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintln(stderr, "baseline:", err)
		return cli.ExitError
	}
	return cli.ExitOK
}
