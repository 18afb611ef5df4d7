// Command client is the Polychat chat client: it joins a room on the chat
// server, prints what the room says and sends what you type.
//
//	go run client/main.go [flags] [name] [room] [server]
//
// Flags and arguments may come in any order. Run with -h for the flags. This
// file is the whole of package main, so that `go run client/main.go` builds
// the command: the command line and the session are package command, the
// chat logic package chatclient.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/polychat/polychat/client/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := command.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
