package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

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
  server   the chat server address (default $CHAT_SERVER, else %q); several
           servers of a cluster as ipv4:HOST:PORT,HOST:PORT (or dns:///NAME
           with several records): the client uses the first that answers

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
input line is sent, and the client's status lines (connection lost,
reconnected, pending) are ordinary output lines too. Errors go to stderr as
one line; the exit status is 0 after leaving, 1 when the server cannot be
reached or ends the session, and 2 for bad usage.

When the connection is lost, the client reconnects by itself (waits grow
from 1s to -reconnect-max-delay), keeps its name and shows what it missed;
lines typed meanwhile are shown as pending and sent once it is back. It
stops when the server refuses the sign-in, the request or the resume
credential. -no-reconnect ends the session instead.

Flags:
`

// positionals are the flags the positional arguments stand for, in order.
var positionals = []string{"name", "room", "server"}

// env names the environment variable of each flag that has one.
var env = map[string]cli.Var{
	"server":              {Name: "CHAT_SERVER"},
	"ca":                  {Name: "POLYCHAT_TLS_CA"},
	"cert":                {Name: "POLYCHAT_TLS_CLIENT_CERT"},
	"key":                 {Name: "POLYCHAT_TLS_CLIENT_KEY"},
	"token":               {Name: "CHAT_TOKEN"},
	"auth-server":         {Name: "AUTH_SERVER"},
	"streaming-server":    {Name: "STREAMING_SERVER"},
	"no-reconnect":        {Name: "CHAT_NO_RECONNECT"},
	"reconnect-max-delay": {Name: "CHAT_RECONNECT_MAX_DELAY"},
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
	fs.StringVar(&opts.chat.StreamingServer, "streaming-server", "", "the StreamingService address /send and /get move files through (default $STREAMING_SERVER, else \""+chatwire.DefaultStreamingServer+"\")")
	noReconnect := fs.Bool("no-reconnect", false, "end the session when the connection is lost instead of reconnecting (default $CHAT_NO_RECONNECT)")
	fs.Var((*positiveDuration)(&opts.chat.Backoff.MaxDelay), "reconnect-max-delay",
		"the longest wait (a `duration`) between two attempts to reconnect (default $CHAT_RECONNECT_MAX_DELAY, else "+chatclient.DefaultReconnectMaxDelay.String()+")")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, chatwire.DefaultRoom, chatwire.DefaultServer)
		fs.PrintDefaults()
	}
	if err := parseInto(fs, args, getenv); err != nil {
		return options{}, cli.Fail(stderr, "error", err), false
	}
	opts.chat.Reconnect = !*noReconnect
	if opts.login {
		opts.chat.Token = "" // CHAT_TOKEN is for sessions without -login
	}
	return opts, cli.ExitOK, true
}

// positiveDuration is a flag.Value for a duration above zero; its zero
// value means "not set".
type positiveDuration time.Duration

func (d *positiveDuration) String() string { return time.Duration(*d).String() }

func (d *positiveDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (e.g. 30s)")
	}
	if v <= 0 {
		return errors.New("must be above zero (e.g. 30s)")
	}
	*d = positiveDuration(v)
	return nil
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
