package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/polychat/polychat/client/chatclient"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/internal/tlsconfig"
)

const usage = `Usage: go run client/main.go [flags] [name] [room] [server]

Joins a Polychat chat room and chats: type a line and press Enter to send it.
/quit, /exit, /q, Ctrl+C or the end of input (Ctrl+D) leave the room.

Arguments (optional; flags may come before, between or after them):
  name     the name to ask for; without one you are asked on a terminal,
           and otherwise the server assigns Client(N)
  room     the room to join (default %q)
  server   the chat server address (default $CHAT_SERVER, else %q)

The arguments fill name, room and server in this order, skipping those a
flag gives ("-name Alice general" joins general); with all three
arguments, a flag wins over the argument in its place. Either wins over the
environment variable.

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

// positionals are the flags the positional arguments stand for, in order.
var positionals = []string{"name", "room", "server"}

// env names the environment variable of each flag that has one.
var env = map[string]cli.Var{
	"server":      {Name: "CHAT_SERVER"},
	"ca":          {Name: "POLYCHAT_TLS_CA"},
	"cert":        {Name: "POLYCHAT_TLS_CLIENT_CERT"},
	"key":         {Name: "POLYCHAT_TLS_CLIENT_KEY"},
	"token":       {Name: "CHAT_TOKEN"},
	"auth-server": {Name: "AUTH_SERVER"},
}

// options is what the command line asks for.
type options struct {
	chat       chatclient.Config // without TLS, which tls describes
	tls        tlsconfig.ClientOptions
	login      bool
	authServer string
}

// parseArgs reads the command line and the environment. When ok is false
// the command is over with status code: -h was given (the usage is written
// to stderr), or a flag, argument or variable is wrong (one line on
// stderr).
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (opts options, code int, ok bool) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.chat.Name, "name", "", "the name to ask for")
	fs.StringVar(&opts.chat.Room, "room", "", "the room to join (default \""+chatwire.DefaultRoom+"\")")
	fs.StringVar(&opts.chat.Server, "server", "", "the chat server address (default $CHAT_SERVER, else \""+chatwire.DefaultServer+"\")")
	fs.StringVar(&opts.tls.CAFile, "ca", "", "PEM CA to trust; turns TLS on (default $POLYCHAT_TLS_CA)")
	fs.StringVar(&opts.tls.CertFile, "cert", "", "PEM client certificate for mutual TLS (default $POLYCHAT_TLS_CLIENT_CERT)")
	fs.StringVar(&opts.tls.KeyFile, "key", "", "PEM key of -cert (default $POLYCHAT_TLS_CLIENT_KEY)")
	fs.BoolVar(&opts.tls.System, "tls", false, "use TLS with the system's trusted CAs (when no -ca is given)")
	fs.BoolVar(&opts.login, "login", false, "sign in: ask for the password and sign in as the name")
	fs.StringVar(&opts.chat.Token, "token", "", "session token to sign in with (default $CHAT_TOKEN)")
	fs.StringVar(&opts.authServer, "auth-server", "", "the auth server address for -login (default $AUTH_SERVER, else \""+chatwire.DefaultAuthServer+"\")")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, chatwire.DefaultRoom, chatwire.DefaultServer)
		fs.PrintDefaults()
	}
	if err := parseInto(fs, args, getenv); err != nil {
		return options{}, cli.Fail(stderr, "error", err), false
	}
	if opts.login {
		opts.chat.Token = "" // CHAT_TOKEN is for sessions without -login
	}
	return opts, cli.ExitOK, true
}

// parseInto parses args into fs: flags first, then the positionals for
// the flags not given, then the environment for the flags still unset.
func parseInto(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	args, err := cli.Parse(fs, args)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if given["login"] && given["token"] && fs.Lookup("login").Value.String() == "true" {
		return errors.New("use -login or -token, not both")
	}
	slots := positionals
	if len(args) < len(positionals) {
		slots = nil
		for _, name := range positionals {
			if !given[name] {
				slots = append(slots, name)
			}
		}
	}
	if len(args) > len(slots) {
		return fmt.Errorf("too many arguments: %q", args[len(slots):])
	}
	for i, arg := range args {
		if !given[slots[i]] {
			if err := fs.Set(slots[i], arg); err != nil {
				return err
			}
		}
	}
	if err := cli.SetFromEnv(fs, env, cli.LookupEnv(getenv), func(string) {}); err != nil {
		return err
	}
	if (fs.Lookup("cert").Value.String() == "") != (fs.Lookup("key").Value.String() == "") {
		return errors.New("-cert and -key (or POLYCHAT_TLS_CLIENT_CERT and POLYCHAT_TLS_CLIENT_KEY) must be given together")
	}
	return nil
}
