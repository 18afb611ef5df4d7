// Command client is the Polychat chat client: it joins a room on the chat
// server, prints what the room says and sends what you type.
//
//	go run client/main.go [flags] [name] [room] [server]
//
// Run with -h for the flags. The logic lives in package chatclient.
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

	"golang.org/x/term"

	"github.com/polychat/polychat/client/chatclient"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `Usage: go run client/main.go [flags] [name] [room] [server]

Joins a Polychat chat room and chats: type a line and press Enter to send it.
/quit, /exit, /q, Ctrl+C or the end of input (Ctrl+D) leave the room.

Arguments (optional, in this order; flags must come before them):
  name     the name to ask for; without one you are asked on a terminal,
           and otherwise the server assigns Client(N)
  room     the room to join (default %q)
  server   the chat server address (default $CHAT_SERVER, else %q)

A flag wins over the positional argument for the same setting.

When stdin and stdout are not terminals (pipes, scripts), there is no prompt
and no escape codes: each received message is one line on stdout and each
input line is sent. Errors go to stderr as one line; the exit status is 0
after leaving, 1 when the server cannot be reached or ends the session, and
2 for bad usage.

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run is the whole command, with its environment passed in so that tests can
// drive it. Cancelling ctx (Ctrl+C) leaves the chat.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	flags := flag.NewFlagSet("client", flag.ContinueOnError)
	flags.SetOutput(stderr)
	name := flags.String("name", "", "the name to ask for")
	room := flags.String("room", "", "the room to join (default \""+chatclient.DefaultRoom+"\")")
	server := flags.String("server", "", "the chat server address (default $CHAT_SERVER, else \""+chatclient.DefaultServer+"\")")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), usage, chatclient.DefaultRoom, chatclient.DefaultServer)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	args = flags.Args()
	if len(args) > 3 {
		fmt.Fprintf(stderr, "error: too many arguments: %q (see -h)\n", args[3:])
		return exitUsage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	pick := func(flagName, flagValue string, pos int) string {
		if set[flagName] || len(args) <= pos {
			return flagValue
		}
		return args[pos]
	}
	cfg := chatclient.Config{
		Name:   pick("name", *name, 0),
		Room:   pick("room", *room, 1),
		Server: pick("server", *server, 2),
	}
	if cfg.Server == "" {
		cfg.Server = getenv("CHAT_SERVER")
	}

	stdinFile, stdinTerm := terminal(stdin)
	stdoutFile, stdoutTerm := terminal(stdout)
	var err error
	if stdinTerm && stdoutTerm {
		err = runTerminal(ctx, cfg, stdinFile, stdoutFile)
	} else {
		in := chatclient.NewLineReader(stdin)
		if cfg.Name == "" && stdinTerm {
			fmt.Fprint(stderr, "Enter your name: ")
			if cfg.Name, err = in.ReadLine(); err != nil {
				return exitOK
			}
		}
		err = chatclient.Run(ctx, cfg, in, stdout)
	}
	if err == nil {
		return exitOK
	}
	var disconnected *chatclient.DisconnectedError
	if errors.As(err, &disconnected) {
		fmt.Fprintln(stderr, disconnected.Error())
	} else {
		fmt.Fprintln(stderr, "error: "+err.Error())
	}
	return exitError
}

// terminal returns f as a file and whether it is a terminal.
func terminal(f any) (*os.File, bool) {
	file, ok := f.(*os.File)
	return file, ok && term.IsTerminal(int(file.Fd()))
}

// runTerminal runs the session on an interactive terminal in raw mode, and
// restores the terminal before it returns.
func runTerminal(ctx context.Context, cfg chatclient.Config, stdin, stdout *os.File) error {
	t, err := chatclient.OpenTerminal(stdin, stdout, chatclient.Prompt)
	if err != nil {
		return err
	}
	defer t.Restore()
	if cfg.Name == "" {
		t.SetPrompt("Enter your name: ")
		name, err := t.ReadLine()
		if err != nil {
			return nil // Ctrl+C or Ctrl+D: the user changed their mind
		}
		cfg.Name = name
		t.SetPrompt(chatclient.Prompt)
	}
	cfg.Banner = "Connected. Type a message and press Enter; /quit to leave."
	err = chatclient.Run(ctx, cfg, t, t)
	if rerr := t.Restore(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
