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
	"strings"
	"syscall"
	"time"

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

TLS: -ca trusts a CA (PEM) and turns TLS on; -tls turns it on with the
system's CAs; -cert and -key present a client certificate (mutual TLS).
Sign-in: -login asks for your password (the first input line when stdin is
not a terminal) and signs in as the name at the auth server; -token uses a
session token you already have. The same TLS settings apply to both servers.

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
	caFile := flags.String("ca", "", "PEM CA to trust; turns TLS on (default $POLYCHAT_TLS_CA)")
	certFile := flags.String("cert", "", "PEM client certificate for mutual TLS (default $POLYCHAT_TLS_CLIENT_CERT)")
	keyFile := flags.String("key", "", "PEM key of -cert (default $POLYCHAT_TLS_CLIENT_KEY)")
	useTLS := flags.Bool("tls", false, "use TLS with the system's trusted CAs (when no -ca is given)")
	login := flags.Bool("login", false, "sign in: ask for the password and sign in as the name")
	token := flags.String("token", "", "session token to sign in with (default $CHAT_TOKEN)")
	authServer := flags.String("auth-server", "", "the auth server address for -login (default $AUTH_SERVER, else \""+chatclient.DefaultAuthServer+"\")")
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
	orEnv := func(v, key string) string {
		if v == "" {
			return getenv(key)
		}
		return v
	}
	tlsOpts := chatclient.TLSOptions{
		CAFile:   orEnv(*caFile, "POLYCHAT_TLS_CA"),
		CertFile: orEnv(*certFile, "POLYCHAT_TLS_CLIENT_CERT"),
		KeyFile:  orEnv(*keyFile, "POLYCHAT_TLS_CLIENT_KEY"),
		System:   *useTLS,
	}
	if (tlsOpts.CertFile == "") != (tlsOpts.KeyFile == "") {
		fmt.Fprintln(stderr, "error: -cert and -key must be given together (see -h)")
		return exitUsage
	}
	if *login && set["token"] {
		fmt.Fprintln(stderr, "error: use -login or -token, not both (see -h)")
		return exitUsage
	}
	var err error
	if cfg.TLS, err = chatclient.TLSConfig(tlsOpts); err != nil {
		fmt.Fprintln(stderr, "error: "+err.Error())
		return exitError
	}
	if !*login {
		cfg.Token = orEnv(*token, "CHAT_TOKEN")
	}
	var signIn *signInner
	if *login {
		signIn = &signInner{cfg: chatclient.AuthConfig{Server: orEnv(*authServer, "AUTH_SERVER"), TLS: cfg.TLS}}
	}

	stdinFile, stdinTerm := terminal(stdin)
	stdoutFile, stdoutTerm := terminal(stdout)
	if stdinTerm && stdoutTerm {
		err = runTerminal(ctx, cfg, signIn, stdinFile, stdoutFile)
	} else {
		in := chatclient.NewLineReader(stdin)
		if cfg.Name == "" && stdinTerm {
			fmt.Fprint(stderr, "Enter your name: ")
			if cfg.Name, err = in.ReadLine(); err != nil {
				return exitOK
			}
		}
		if signIn != nil {
			var password string
			switch {
			case strings.TrimSpace(cfg.Name) == "":
				fmt.Fprintln(stderr, "error: -login needs your name: give it as an argument or with -name")
				return exitUsage
			case stdinTerm:
				fmt.Fprint(stderr, "Password: ")
				b, perr := term.ReadPassword(int(stdinFile.Fd()))
				fmt.Fprintln(stderr)
				if perr != nil {
					return exitOK // Ctrl+C or Ctrl+D: the user changed their mind
				}
				password = string(b)
			default:
				// A script gives the password as the first input line.
				if password, err = in.ReadLine(); err != nil {
					fmt.Fprintln(stderr, "error: -login needs the password as the first input line")
					return exitUsage
				}
			}
			if cfg.Token, err = signIn.login(ctx, cfg.Name, password); err != nil {
				if ctx.Err() != nil {
					return exitOK // Ctrl+C while signing in
				}
				fmt.Fprintln(stderr, "error: "+err.Error())
				return exitError
			}
		}
		err = chatclient.Run(ctx, cfg, in, stdout)
	}
	signIn.logout()
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

// signInner signs in with -login, and out again when the session is over.
type signInner struct {
	cfg   chatclient.AuthConfig
	token string
}

// login signs name in with password and returns the session token.
func (s *signInner) login(ctx context.Context, name, password string) (string, error) {
	token, err := chatclient.Login(ctx, s.cfg, strings.TrimSpace(name), password)
	s.token = token
	return token, err
}

// logout ends the session login opened, if any (best effort: the session
// expires anyway).
func (s *signInner) logout() {
	if s == nil || s.token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = chatclient.Logout(ctx, s.cfg, s.token)
	s.token = ""
}

// runTerminal runs the session on an interactive terminal in raw mode, and
// restores the terminal before it returns. With signIn, it asks for the
// password (not echoed) and signs in first.
func runTerminal(ctx context.Context, cfg chatclient.Config, signIn *signInner, stdin, stdout *os.File) error {
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
	if signIn != nil {
		if strings.TrimSpace(cfg.Name) == "" {
			return errors.New("-login needs your name")
		}
		password, err := t.ReadPassword("Password: ")
		if err != nil {
			return nil // Ctrl+C or Ctrl+D: the user changed their mind
		}
		if cfg.Token, err = signIn.login(ctx, cfg.Name, password); err != nil {
			return err
		}
	}
	cfg.Banner = "Connected. Type a message and press Enter; /quit to leave."
	err = chatclient.Run(ctx, cfg, t, t)
	if rerr := t.Restore(); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
