// Package config reads the chat server's settings from command-line flags
// and environment variables (a flag wins over its variable, which wins over
// the default).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Config is the chat server's settings.
type Config struct {
	// Addr is the TCP address to listen on.
	Addr string
	// DataDir holds chat.db; empty keeps history in memory only.
	DataDir string
	// History is how many text messages per room are kept and replayed.
	History int
	// MaxMessageBytes limits the text of one message.
	MaxMessageBytes int
	// MaxNameBytes limits names and rooms.
	MaxNameBytes int
	// QueueSize is how many messages may wait for one client.
	QueueSize int
	// ShutdownTimeout bounds the graceful part of a shutdown.
	ShutdownTimeout time.Duration
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is the lowest level logged.
	LogLevel slog.Level

	// TLSCert and TLSKey are the server's PEM certificate and key; both set
	// turns TLS on.
	TLSCert, TLSKey string
	// TLSClientCA is a PEM CA bundle; set, every client must present a
	// certificate it signed (mutual TLS).
	TLSClientCA string

	// AuthAddr is the AuthService address; set, every chat stream must carry
	// a session token it validates. Empty turns sign-in off.
	AuthAddr string
	// AuthCA, AuthCert and AuthKey configure TLS (and mutual TLS) to the
	// AuthService; all empty means plaintext.
	AuthCA, AuthCert, AuthKey string
	// AuthCacheTTL is how long a validated session is remembered.
	AuthCacheTTL time.Duration

	// MaxStreamsPerConn limits concurrent streams on one connection (0: no limit).
	MaxStreamsPerConn int
	// MaxConnections limits open client connections (0: no limit).
	MaxConnections int
	// Rate is the messages per second a member may send on average (0: no
	// limit); Burst is how many it may send at once.
	Rate  float64
	Burst int

	// MetricsAddr is where /metrics is served over HTTP; empty turns it off.
	MetricsAddr string
}

// TLS reports whether the server serves TLS.
func (c Config) TLS() bool { return c.TLSCert != "" && c.TLSKey != "" }

// ErrHelp is returned by Parse when -h or -help was given; the usage text has
// then been written.
var ErrHelp = flag.ErrHelp

// env names the environment variable of each flag.
var env = map[string]string{
	"addr":              "CHAT_ADDR",
	"data-dir":          "POLYCHAT_DATA_DIR",
	"history":           "CHAT_HISTORY",
	"max-message-bytes": "CHAT_MAX_MESSAGE_BYTES",
	"max-name-bytes":    "CHAT_MAX_NAME_BYTES",
	"queue":             "CHAT_QUEUE_SIZE",
	"shutdown-timeout":  "CHAT_SHUTDOWN_TIMEOUT",
	"log-format":        "CHAT_LOG_FORMAT",
	"log-level":         "CHAT_LOG_LEVEL",

	"tls-cert":      "POLYCHAT_TLS_CERT",
	"tls-key":       "POLYCHAT_TLS_KEY",
	"tls-client-ca": "POLYCHAT_TLS_CLIENT_CA",

	"auth-addr":      "CHAT_AUTH_ADDR",
	"auth-ca":        "CHAT_AUTH_CA",
	"auth-cert":      "CHAT_AUTH_CERT",
	"auth-key":       "CHAT_AUTH_KEY",
	"auth-cache-ttl": "CHAT_AUTH_CACHE_TTL",

	"max-streams-per-conn": "CHAT_MAX_STREAMS_PER_CONN",
	"max-connections":      "CHAT_MAX_CONNECTIONS",
	"rate":                 "CHAT_RATE",
	"burst":                "CHAT_BURST",

	"metrics-addr": "CHAT_METRICS_ADDR",
}

// Defaults of the limits, for the documentation and the tests.
const (
	DefaultMaxStreamsPerConn = 16
	DefaultMaxConnections    = 2000
	DefaultRate              = 20
	DefaultBurst             = 40
	DefaultAuthCacheTTL      = 30 * time.Second
	DefaultMetricsAddr       = ":9053"
)

// Parse reads args (without the program name) and the environment through
// lookupEnv. On -h it writes the usage to usage and returns ErrHelp; any
// other error is one line, fit to print as it is.
func Parse(prog string, args []string, lookupEnv func(string) (string, bool), usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed with the usage
	fs.StringVar(&c.Addr, "addr", ":50053", "TCP address to listen on")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory for chat.db (room history); empty keeps history in memory only")
	fs.IntVar(&c.History, "history", 50, "text messages kept and replayed per room (0 disables history)")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", 4096, "largest message text in bytes")
	fs.IntVar(&c.MaxNameBytes, "max-name-bytes", 64, "largest user or room name in bytes")
	fs.IntVar(&c.QueueSize, "queue", 256, "messages queued per client before it is disconnected as too slow")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "lowest level logged: debug, info, warn or error")

	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate to serve TLS with (needs -tls-key); empty serves plaintext")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", "", "PEM CA bundle; set, clients must present a certificate it signed (mutual TLS)")

	fs.StringVar(&c.AuthAddr, "auth-addr", "", "AuthService address (e.g. localhost:50054); set, every client must sign in; empty turns sign-in off")
	fs.StringVar(&c.AuthCA, "auth-ca", "", "PEM CA to verify the AuthService with (turns TLS to it on)")
	fs.StringVar(&c.AuthCert, "auth-cert", "", "PEM client certificate for mutual TLS to the AuthService (needs -auth-key)")
	fs.StringVar(&c.AuthKey, "auth-key", "", "PEM private key of -auth-cert")
	fs.DurationVar(&c.AuthCacheTTL, "auth-cache-ttl", DefaultAuthCacheTTL, "how long a validated session is remembered (never past its expiry)")

	fs.IntVar(&c.MaxStreamsPerConn, "max-streams-per-conn", DefaultMaxStreamsPerConn, "concurrent streams allowed on one connection (0: no limit)")
	fs.IntVar(&c.MaxConnections, "max-connections", DefaultMaxConnections, "open connections allowed; more are closed at once (0: no limit)")
	fs.Float64Var(&c.Rate, "rate", DefaultRate, "messages per second a client may send on average; faster clients are disconnected (0: no limit)")
	fs.IntVar(&c.Burst, "burst", DefaultBurst, "messages a client may send at once, above -rate")

	fs.StringVar(&c.MetricsAddr, "metrics-addr", DefaultMetricsAddr, "address to serve Prometheus /metrics on over HTTP; empty turns metrics off")
	fs.Usage = func() {} // the flag package would print it on every error

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeUsage(usage, prog, fs)
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || envErr != nil {
			return
		}
		if v, ok := lookupEnv(env[f.Name]); ok {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("invalid value %q for %s (flag -%s): %v", v, env[f.Name], f.Name, err)
			}
		}
	})
	if envErr != nil {
		return Config{}, envErr
	}
	return c, c.validate()
}

// validate rejects settings the server cannot run with.
func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("-addr must not be empty")
	case c.History < 0:
		return fmt.Errorf("-history must be 0 or more, not %d", c.History)
	case c.MaxMessageBytes <= 0:
		return fmt.Errorf("-max-message-bytes must be more than 0, not %d", c.MaxMessageBytes)
	case c.MaxNameBytes <= 0:
		return fmt.Errorf("-max-name-bytes must be more than 0, not %d", c.MaxNameBytes)
	case c.QueueSize <= 0:
		return fmt.Errorf("-queue must be more than 0, not %d", c.QueueSize)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("-shutdown-timeout must be more than 0, not %s", c.ShutdownTimeout)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("-log-format must be text or json, not %q", c.LogFormat)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("-tls-cert and -tls-key must be given together")
	case c.TLSClientCA != "" && !c.TLS():
		return errors.New("-tls-client-ca needs -tls-cert and -tls-key")
	case (c.AuthCert == "") != (c.AuthKey == ""):
		return errors.New("-auth-cert and -auth-key must be given together")
	case c.AuthAddr == "" && (c.AuthCA != "" || c.AuthCert != ""):
		return errors.New("-auth-ca, -auth-cert and -auth-key need -auth-addr")
	case c.AuthCacheTTL < 0:
		return fmt.Errorf("-auth-cache-ttl must be 0 or more, not %s", c.AuthCacheTTL)
	case c.MaxStreamsPerConn < 0:
		return fmt.Errorf("-max-streams-per-conn must be 0 or more, not %d", c.MaxStreamsPerConn)
	case c.MaxConnections < 0:
		return fmt.Errorf("-max-connections must be 0 or more, not %d", c.MaxConnections)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("-rate must be 0 or more, not %v", c.Rate)
	case c.Rate > 0 && c.Burst < 1:
		return fmt.Errorf("-burst must be 1 or more when -rate is set, not %d", c.Burst)
	}
	return nil
}

// writeUsage lists every flag with its variable and default.
func writeUsage(w io.Writer, prog string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nPolychat chat server (chat.ChatService).\nEach flag can also be set by the environment variable shown; a flag wins.\n\nFlags:\n", prog)
	fs.VisitAll(func(f *flag.Flag) {
		name, _ := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s %s\n    \t%s\n    \t(env %s, default %q)\n", f.Name, strings.TrimSpace(name), f.Usage, env[f.Name], f.DefValue)
	})
}
