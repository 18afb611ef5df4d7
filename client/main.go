// Command client is the Polychat chat client: it joins a room on the chat
// server, prints what the room says and sends what you type.
//
//	go run client/main.go [flags] [name] [room] [server]
//
// Flags and arguments may come in any order. Run with -h for the flags. The
// command line is read in args.go, the session runs in console.go, and the
// chat logic lives in package chatclient.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command, with its environment passed in so that tests can
// drive it. Cancelling ctx (Ctrl+C) leaves the chat. It returns the exit
// status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, code, ok := parseArgs(args, getenv, stderr)
	if !ok {
		return code
	}
	return converse(ctx, opts, stdin, stdout, stderr)
}
