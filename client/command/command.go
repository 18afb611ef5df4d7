// Package command is the Polychat chat client command: its flags and
// arguments (args.go) and the session on a terminal or on plain lines
// (console.go). The chat itself is package chatclient; client/main.go only
// hands Run the process's arguments, streams and environment.
package command

import (
	"context"
	"io"
)

// Run is the whole command, with its environment passed in so that tests
// can drive it. Cancelling ctx (Ctrl+C) leaves the chat. It returns the
// exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, code, ok := parseArgs(args, getenv, stderr)
	if !ok {
		return code
	}
	return converse(ctx, opts, stdin, stdout, stderr)
}
