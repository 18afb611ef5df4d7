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

	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/cli"
	"github.com/polychat/polychat/server/filegrant"
)

// Config is the chat server's settings.
type Config struct {
	// Addr is the TCP address to listen on.
	Addr string
	// DataDir holds the embedded NATS server's store (nats/); empty keeps
	// everything in memory only.
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

	// AuthServer is the AuthService address to call; set, every chat stream
	// must carry a session token it validates. Empty turns sign-in off.
	AuthServer string
	// AuthCA, AuthCert and AuthKey configure TLS (and mutual TLS) to the
	// AuthService; all empty means plaintext.
	AuthCA, AuthCert, AuthKey string
	// AuthCacheTTL is how long a validated session is remembered.
	AuthCacheTTL time.Duration
	// Admins are the signed-in user names that moderate every room.
	Admins []string

	// LoggerServer is the LoggerService address the moderation audit
	// events are sent to; empty keeps them in the moderation log until one
	// is set.
	LoggerServer string
	// LoggerCA, LoggerCert and LoggerKey configure TLS (and mutual TLS, the
	// client certificate then naming the writer) to the LoggerService.
	LoggerCA, LoggerCert, LoggerKey string
	// LoggerWriteKey is LoggerService's shared write key (environment
	// only: LOGGER_WRITE_KEY, as the Logger's other clients read it).
	LoggerWriteKey string

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
	// PprofAddr is where Go's runtime profiles (net/http/pprof) are served
	// over HTTP; empty, the default, turns them off.
	PprofAddr string
	// WebAddr is where the chat page and the browsers' RPCs are served over
	// HTTP (HTTPS with TLS); empty turns the page off.
	WebAddr string

	// MaxHeaderBytes limits the header list (metadata) of one request.
	MaxHeaderBytes int
	// HandshakeTimeout bounds the time from accepting a connection to the
	// end of its TLS and HTTP/2 handshake.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that has had no stream for that long
	// (0: never).
	IdleTimeout time.Duration
	// MaxConnectionsPerIP limits open connections from one IP address (0:
	// no limit).
	MaxConnectionsPerIP int
	// StreamRate is how many chat streams a connection may open per second
	// on average (0: no limit), StreamBurst how many at once;
	// StreamRatePerIP and StreamBurstPerIP are the same for all connections
	// from one IP address together.
	StreamRate       float64
	StreamBurst      int
	StreamRatePerIP  float64
	StreamBurstPerIP int
	// NoticeRate is how many join and leave notices a room sends per second
	// on average (0: no limit), NoticeBurst how many at once; the others
	// are summed up in one notice.
	NoticeRate  float64
	NoticeBurst int
	// BigRoom is the room size (members on every node) from which join and
	// leave notices are not sent one by one but summed up once per
	// BigRoomSummary (0: never).
	BigRoom        int
	BigRoomSummary time.Duration

	// MaxRooms limits the rooms that exist at once: rooms with members and
	// rooms with kept history (0: no limit).
	MaxRooms int
	// MaxRoomsPerIP limits the existing rooms one IP address created (0:
	// no limit).
	MaxRoomsPerIP int
	// HistoryBytes limits the text kept per room, on top of History.
	HistoryBytes int
	// RoomRetention is how long an empty room keeps its history after its
	// last message (0: forever).
	RoomRetention time.Duration
	// ResumeGrace is how long a dropped member keeps its name and may
	// resume (0: resuming off).
	ResumeGrace time.Duration

	// NATSURL lists the NATS servers (comma-separated URLs) of the
	// cluster this chat node joins; empty runs alone.
	NATSURL string
	// NATSAddr, without NATSURL, has the chat server run its own NATS
	// server, accepting other chat nodes and NATS clients on this address.
	NATSAddr string
	// NATSCA, NATSCert and NATSKey configure TLS to the NATS servers;
	// NATSCreds is a NATS credentials file.
	NATSCA, NATSCert, NATSKey, NATSCreds string
	// NATSReplicas is how many copies JetStream keeps of the chat's stream
	// and buckets.
	NATSReplicas int
	// NodeTTL is how long a chat node that stopped answering counts as
	// alive: its members then keep their names for -resume-grace more.
	NodeTTL time.Duration

	// FileKeyFile holds the key file grants are signed with, the same
	// file as StreamingService's --streaming-file-key-file; empty: files
	// are not shared unless FileKey is set.
	FileKeyFile string
	// FileKey is the key of CHAT_FILE_KEY (environment only, as
	// StreamingService's STREAMING_FILE_KEY), given instead of a key file;
	// nil when the variable is unset.
	FileKey *filegrant.Key
	// MaxFileBytes limits one shared file; FileQuotaBytes the bytes of
	// all the files one user shared (0: no limit).
	MaxFileBytes   int64
	FileQuotaBytes int64
	// FileRetention is how long a shared file is kept (0: until its room's
	// history is deleted).
	FileRetention time.Duration

	// Warnings are one line each about deprecated flags or environment
	// variables that were used, for the log once it is set up.
	Warnings []string
}

// TLS reports whether the server serves TLS.
func (c Config) TLS() bool { return c.TLSCert != "" && c.TLSKey != "" }

// ErrHelp is returned by Parse when -h or -help was given; the usage text has
// then been written.
var ErrHelp = flag.ErrHelp

// env names the environment variable of each flag, with the older names
// still read (each with a warning).
var env = map[string]cli.Var{
	"addr":              {Name: "CHAT_ADDR"},
	"data-dir":          {Name: "POLYCHAT_DATA_DIR"},
	"history":           {Name: "CHAT_HISTORY"},
	"max-message-bytes": {Name: "CHAT_MAX_MESSAGE_BYTES"},
	"max-name-bytes":    {Name: "CHAT_MAX_NAME_BYTES"},
	"queue":             {Name: "CHAT_QUEUE_SIZE"},
	"shutdown-timeout":  {Name: "CHAT_SHUTDOWN_TIMEOUT"},
	"log-format":        {Name: "POLYCHAT_LOG_FORMAT", Deprecated: []string{"CHAT_LOG_FORMAT"}},
	"log-level":         {Name: "POLYCHAT_LOG_LEVEL", Deprecated: []string{"CHAT_LOG_LEVEL"}},

	"tls-cert":      {Name: "POLYCHAT_TLS_CERT"},
	"tls-key":       {Name: "POLYCHAT_TLS_KEY"},
	"tls-client-ca": {Name: "POLYCHAT_TLS_CLIENT_CA"},

	"auth-server":    {Name: "CHAT_AUTH_SERVER", Deprecated: []string{"CHAT_AUTH_ADDR"}},
	"auth-ca":        {Name: "CHAT_AUTH_CA"},
	"auth-cert":      {Name: "CHAT_AUTH_CERT"},
	"auth-key":       {Name: "CHAT_AUTH_KEY"},
	"auth-cache-ttl": {Name: "CHAT_AUTH_CACHE_TTL"},
	"admins":         {Name: "CHAT_ADMINS"},

	"logger-server": {Name: "CHAT_LOGGER_SERVER"},
	"logger-ca":     {Name: "CHAT_LOGGER_CA"},
	"logger-cert":   {Name: "CHAT_LOGGER_CERT"},
	"logger-key":    {Name: "CHAT_LOGGER_KEY"},

	"max-streams-per-conn": {Name: "CHAT_MAX_STREAMS_PER_CONN"},
	"max-connections":      {Name: "CHAT_MAX_CONNECTIONS"},
	"rate":                 {Name: "CHAT_RATE"},
	"burst":                {Name: "CHAT_BURST"},

	"metrics-addr": {Name: "CHAT_METRICS_ADDR"},
	"pprof-addr":   {Name: "CHAT_PPROF_ADDR"},
	"web-addr":     {Name: "CHAT_WEB_ADDR"},

	"max-header-bytes":       {Name: "CHAT_MAX_HEADER_BYTES"},
	"handshake-timeout":      {Name: "CHAT_HANDSHAKE_TIMEOUT"},
	"idle-timeout":           {Name: "CHAT_IDLE_TIMEOUT"},
	"max-connections-per-ip": {Name: "CHAT_MAX_CONNECTIONS_PER_IP"},
	"stream-rate":            {Name: "CHAT_STREAM_RATE"},
	"stream-burst":           {Name: "CHAT_STREAM_BURST"},
	"stream-rate-per-ip":     {Name: "CHAT_STREAM_RATE_PER_IP"},
	"stream-burst-per-ip":    {Name: "CHAT_STREAM_BURST_PER_IP"},
	"notice-rate":            {Name: "CHAT_NOTICE_RATE"},
	"notice-burst":           {Name: "CHAT_NOTICE_BURST"},
	"big-room":               {Name: "CHAT_BIG_ROOM"},
	"big-room-summary":       {Name: "CHAT_BIG_ROOM_SUMMARY"},
	"max-rooms":              {Name: "CHAT_MAX_ROOMS"},
	"max-rooms-per-ip":       {Name: "CHAT_MAX_ROOMS_PER_IP"},
	"history-bytes":          {Name: "CHAT_HISTORY_BYTES"},
	"room-retention":         {Name: "CHAT_ROOM_RETENTION"},
	"resume-grace":           {Name: "CHAT_RESUME_GRACE"},
	"deliver-before-commit":  {Name: "CHAT_DELIVER_BEFORE_COMMIT"},

	"nats-url":      {Name: "CHAT_NATS_URL"},
	"nats-addr":     {Name: "CHAT_NATS_ADDR"},
	"nats-ca":       {Name: "CHAT_NATS_CA"},
	"nats-cert":     {Name: "CHAT_NATS_CERT"},
	"nats-key":      {Name: "CHAT_NATS_KEY"},
	"nats-creds":    {Name: "CHAT_NATS_CREDS"},
	"nats-replicas": {Name: "CHAT_NATS_REPLICAS"},
	"node-ttl":      {Name: "CHAT_NODE_TTL"},

	"file-key-file":    {Name: "CHAT_FILE_KEY_FILE"},
	"max-file-bytes":   {Name: "CHAT_MAX_FILE_BYTES"},
	"file-quota-bytes": {Name: "CHAT_FILE_QUOTA_BYTES"},
	"file-retention":   {Name: "CHAT_FILE_RETENTION"},
}

// NATSURLs returns the URLs of -nats-url.
func (c Config) NATSURLs() []string {
	var out []string
	for _, u := range strings.Split(c.NATSURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Defaults of the limits, for the documentation and the tests.
const (
	DefaultMaxStreamsPerConn = 16
	DefaultMaxConnections    = 2000
	DefaultRate              = 20
	DefaultBurst             = 40
	DefaultAuthCacheTTL      = 30 * time.Second
	DefaultMetricsAddr       = ":9053"
	DefaultWebAddr           = ":8053"

	DefaultMaxHeaderBytes      = 8 << 10
	DefaultHandshakeTimeout    = 10 * time.Second
	DefaultIdleTimeout         = 5 * time.Minute
	DefaultMaxConnectionsPerIP = 20
	DefaultStreamRate          = 2
	DefaultStreamBurst         = 10
	DefaultStreamRatePerIP     = 10
	DefaultStreamBurstPerIP    = 50
	DefaultNoticeRate          = 2
	DefaultNoticeBurst         = 10
	DefaultBigRoom             = 100
	DefaultBigRoomSummary      = 10 * time.Second
	DefaultMaxFileBytes        = 100 << 20
	DefaultFileQuotaBytes      = 1 << 30
	DefaultFileRetention       = 30 * 24 * time.Hour
	DefaultMaxRooms            = 1000
	DefaultMaxRoomsPerIP       = 20
	DefaultHistoryBytes        = 64 << 10
	DefaultRoomRetention       = 30 * 24 * time.Hour
	DefaultResumeGrace         = 30 * time.Second
	DefaultNodeTTL             = 10 * time.Second

	// minHeaderBytes leaves room for gRPC's own headers and the chat
	// metadata at their limits.
	minHeaderBytes = 1024
)

// LoggerWriteKeyEnv is the environment variable holding LoggerService's
// shared write key: a secret, so never a flag, which ps would show.
const LoggerWriteKeyEnv = "LOGGER_WRITE_KEY"

// FileKeyEnv is the environment variable holding the key file grants are
// signed with, the other way to give what -file-key-file's file holds: a
// secret, so never a flag, which ps would show.
const FileKeyEnv = "CHAT_FILE_KEY"

// Parse reads args (without the program name) and the environment through
// lookupEnv. On -h it writes the usage to usage and returns ErrHelp; any
// other error is one line, fit to print as it is.
func Parse(prog string, args []string, lookupEnv func(string) (string, bool), usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed with the usage
	fs.StringVar(&c.Addr, "addr", chatwire.DefaultAddr, "TCP address to listen on")
	fs.StringVar(&c.DataDir, "data-dir", "data", "directory of the embedded NATS server's store (history, names, sessions; a chat.db found here is imported once); empty keeps everything in memory only")
	fs.IntVar(&c.History, "history", chatwire.HistorySize, "text messages kept and replayed per room (0 disables history)")
	fs.IntVar(&c.MaxMessageBytes, "max-message-bytes", chatwire.MaxMessageBytes, "largest message text in bytes")
	fs.IntVar(&c.MaxNameBytes, "max-name-bytes", chatwire.MaxNameBytes, "largest user or room name in bytes")
	fs.IntVar(&c.QueueSize, "queue", chatwire.QueueSize, "messages queued per client before it is disconnected as too slow")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&c.LogFormat, "log-format", "text", "log format: text or json")
	c.LogLevel = slog.LevelInfo
	fs.Var(logLevel{&c.LogLevel}, "log-level", "lowest level logged: debug, info, warn (or warning) or error")

	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate to serve TLS with (needs -tls-key); empty serves plaintext")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", "", "PEM CA bundle; set, clients must present a certificate it signed (mutual TLS)")

	fs.StringVar(&c.AuthServer, "auth-server", "", "AuthService address to call (e.g. "+chatwire.DefaultAuthServer+"); set, every client must sign in; empty turns sign-in off")
	fs.StringVar(&c.AuthCA, "auth-ca", "", "PEM CA to verify the AuthService with (turns TLS to it on)")
	fs.StringVar(&c.AuthCert, "auth-cert", "", "PEM client certificate for mutual TLS to the AuthService (needs -auth-key)")
	fs.StringVar(&c.AuthKey, "auth-key", "", "PEM private key of -auth-cert")
	fs.DurationVar(&c.AuthCacheTTL, "auth-cache-ttl", DefaultAuthCacheTTL, "how long a validated session is remembered (never past its expiry)")
	fs.Func("admins", "comma-separated signed-in user names that moderate every room (needs -auth-server)", func(v string) error {
		c.Admins = nil
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.Admins = append(c.Admins, name)
			}
		}
		return nil
	})

	fs.StringVar(&c.LoggerServer, "logger-server", "", "LoggerService address to send the moderation audit events to (e.g. localhost:50055), with LOGGER_WRITE_KEY or -logger-cert; empty keeps them until one is set")
	fs.StringVar(&c.LoggerCA, "logger-ca", "", "PEM CA to verify the LoggerService with (turns TLS to it on)")
	fs.StringVar(&c.LoggerCert, "logger-cert", "", "PEM client certificate for mutual TLS to the LoggerService, naming the writer (needs -logger-key)")
	fs.StringVar(&c.LoggerKey, "logger-key", "", "PEM private key of -logger-cert")

	fs.IntVar(&c.MaxStreamsPerConn, "max-streams-per-conn", DefaultMaxStreamsPerConn, "concurrent streams allowed on one connection (0: no limit)")
	fs.IntVar(&c.MaxConnections, "max-connections", DefaultMaxConnections, "open connections allowed; more are closed at once (0: no limit)")
	fs.Float64Var(&c.Rate, "rate", DefaultRate, "messages per second a client may send on average; faster clients are disconnected (0: no limit)")
	fs.IntVar(&c.Burst, "burst", DefaultBurst, "messages a client may send at once, above -rate")

	fs.StringVar(&c.MetricsAddr, "metrics-addr", DefaultMetricsAddr, "address to serve Prometheus /metrics on over HTTP; empty turns metrics off")
	fs.StringVar(&c.PprofAddr, "pprof-addr", "", "address to serve Go's runtime profiles (/debug/pprof/) on over HTTP, for finding where memory and time go; empty (the default) turns them off")
	fs.StringVar(&c.WebAddr, "web-addr", DefaultWebAddr, "address to serve the chat page and its RPCs on (HTTPS with -tls-cert); empty turns the page off")

	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", DefaultMaxHeaderBytes, "largest header list (metadata) of a request in bytes; larger requests are refused")
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", DefaultHandshakeTimeout, "time a new connection has to finish its TLS and HTTP/2 handshake")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", DefaultIdleTimeout, "close connections that have had no stream for this long (0: never)")
	fs.IntVar(&c.MaxConnectionsPerIP, "max-connections-per-ip", DefaultMaxConnectionsPerIP, "open connections allowed from one IP address; more are closed at once (0: no limit)")
	fs.Float64Var(&c.StreamRate, "stream-rate", DefaultStreamRate, "chat streams a connection may open per second on average; faster opens are refused (0: no limit)")
	fs.IntVar(&c.StreamBurst, "stream-burst", DefaultStreamBurst, "chat streams a connection may open at once, above -stream-rate")
	fs.Float64Var(&c.StreamRatePerIP, "stream-rate-per-ip", DefaultStreamRatePerIP, "chat streams all connections from one IP address may open per second on average (0: no limit)")
	fs.IntVar(&c.StreamBurstPerIP, "stream-burst-per-ip", DefaultStreamBurstPerIP, "chat streams all connections from one IP address may open at once, above -stream-rate-per-ip")
	fs.Float64Var(&c.NoticeRate, "notice-rate", DefaultNoticeRate, "join and leave notices a room sends per second on average; the rest are summed up (0: no limit)")
	fs.IntVar(&c.NoticeBurst, "notice-burst", DefaultNoticeBurst, "join and leave notices a room may send at once, above -notice-rate")
	fs.IntVar(&c.BigRoom, "big-room", DefaultBigRoom, "members (on every node) from which a room's join and leave notices are summed up, not sent one by one (0: never)")
	fs.DurationVar(&c.BigRoomSummary, "big-room-summary", DefaultBigRoomSummary, "how often a big room is told how many joined and left")
	fs.IntVar(&c.MaxRooms, "max-rooms", DefaultMaxRooms, "rooms that may exist at once, with members or kept history; joining a new one beyond is refused (0: no limit)")
	fs.IntVar(&c.MaxRoomsPerIP, "max-rooms-per-ip", DefaultMaxRoomsPerIP, "existing rooms one IP address may have created (0: no limit)")
	fs.IntVar(&c.HistoryBytes, "history-bytes", DefaultHistoryBytes, "most bytes of text kept and replayed per room, on top of -history")
	fs.DurationVar(&c.RoomRetention, "room-retention", DefaultRoomRetention, "an empty room's history is deleted this long after its last message (0: kept forever)")
	fs.DurationVar(&c.ResumeGrace, "resume-grace", DefaultResumeGrace, "how long a client whose connection dropped keeps its name and may resume, before the room is told it left (0: resuming off)")
	fs.StringVar(&c.NATSURL, "nats-url", "", "NATS servers of the cluster to join, comma-separated (e.g. nats://10.0.0.1:4222,nats://10.0.0.2:4222); empty runs alone")
	fs.StringVar(&c.NATSAddr, "nats-addr", "", "without -nats-url: run an embedded NATS server that other chat nodes (and NATS tools) reach on this address")
	fs.StringVar(&c.NATSCA, "nats-ca", "", "PEM CA to verify the NATS servers with (turns TLS to them on)")
	fs.StringVar(&c.NATSCert, "nats-cert", "", "PEM client certificate for mutual TLS to NATS (needs -nats-key)")
	fs.StringVar(&c.NATSKey, "nats-key", "", "PEM private key of -nats-cert")
	fs.StringVar(&c.NATSCreds, "nats-creds", "", "NATS credentials file (user JWT and NKey seed)")
	fs.IntVar(&c.NATSReplicas, "nats-replicas", 1, "copies JetStream keeps of the chat's stream and buckets (3 on a 3-node NATS cluster)")
	fs.StringVar(&c.FileKeyFile, "file-key-file", "", "file holding the key (at least 32 bytes) file grants are signed with, StreamingService's --streaming-file-key-file (or the key itself in CHAT_FILE_KEY); neither: files are not shared")
	fs.Int64Var(&c.MaxFileBytes, "max-file-bytes", DefaultMaxFileBytes, "largest file a member may share (at most StreamingService's --streaming-max-upload-bytes)")
	fs.Int64Var(&c.FileQuotaBytes, "file-quota-bytes", DefaultFileQuotaBytes, "bytes of all the files one user may share, or, without sign-in, one client address (an IPv6 /64 counts as one); a file counts from its offer until it expires (0: no limit)")
	fs.DurationVar(&c.FileRetention, "file-retention", DefaultFileRetention, "a shared file is deleted this long after it was offered, or with its room's history if that goes first (0: kept as long as its room's history)")
	fs.DurationVar(&c.NodeTTL, "node-ttl", DefaultNodeTTL, "how long a chat node that stopped answering counts as alive; its members then keep their names for -resume-grace")
	warn := func(line string) { c.Warnings = append(c.Warnings, line) }
	cli.Deprecated(fs, "auth-addr", "auth-server", warn)
	cli.Retired(fs, "deliver-before-commit", "a text reaches members once NATS JetStream has stored it, which is what gives every chat node one order", warn)
	fs.SetOutput(usage)
	fs.Usage = func() { writeUsage(usage, prog, fs) }

	args, err := cli.Parse(fs, args)
	if err != nil {
		return Config{}, err
	}
	if len(args) > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", args[0])
	}
	if err := cli.SetFromEnv(fs, env, lookupEnv, warn); err != nil {
		return Config{}, err
	}
	c.LoggerWriteKey, _ = lookupEnv(LoggerWriteKeyEnv)
	if c.FileKey, err = fileKeyFromEnv(lookupEnv, c.FileKeyFile); err != nil {
		return Config{}, err
	}
	return c, c.validate()
}

// fileKeyFromEnv reads CHAT_FILE_KEY: nil when it is unset or empty. With
// a key file given too it is an error, not a precedence: two keys for one
// thing is a mistake in the set-up, and whichever won, grants signed under
// the other would be refused with no clue why.
func fileKeyFromEnv(lookupEnv func(string) (string, bool), keyFile string) (*filegrant.Key, error) {
	secret, ok := lookupEnv(FileKeyEnv)
	if !ok || secret == "" {
		return nil, nil
	}
	if keyFile != "" {
		return nil, fmt.Errorf("%s and -file-key-file (CHAT_FILE_KEY_FILE) both give the file key; set only one", FileKeyEnv)
	}
	// The value is never quoted, in this error or anywhere: it is the secret.
	k, err := filegrant.NewKey([]byte(strings.TrimSpace(secret)))
	if err != nil {
		return nil, fmt.Errorf("invalid value for %s (environment only): %w", FileKeyEnv, err)
	}
	return k, nil
}

// logLevel is the -log-level flag: slog's level names (any letter case),
// and "warning" for warn, as the Python services take it.
type logLevel struct{ level *slog.Level }

func (l logLevel) String() string {
	if l.level == nil {
		return slog.LevelInfo.String()
	}
	return l.level.String()
}

func (l logLevel) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "warning") {
		s = "warn"
	}
	if err := l.level.UnmarshalText([]byte(s)); err != nil {
		return errors.New("want debug, info, warn or error")
	}
	return nil
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
	case c.AuthServer == "" && (c.AuthCA != "" || c.AuthCert != ""):
		return errors.New("-auth-ca, -auth-cert and -auth-key need -auth-server")
	case c.AuthServer == "" && len(c.Admins) > 0:
		return errors.New("-admins needs -auth-server: moderators are signed-in users, and a server without sign-in has none")
	case (c.LoggerCert == "") != (c.LoggerKey == ""):
		return errors.New("-logger-cert and -logger-key must be given together")
	case c.LoggerServer == "" && (c.LoggerCA != "" || c.LoggerCert != ""):
		return errors.New("-logger-ca, -logger-cert and -logger-key need -logger-server")
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
	case c.MaxHeaderBytes < minHeaderBytes:
		return fmt.Errorf("-max-header-bytes must be %d or more, not %d", minHeaderBytes, c.MaxHeaderBytes)
	case c.HandshakeTimeout <= 0:
		return fmt.Errorf("-handshake-timeout must be more than 0, not %s", c.HandshakeTimeout)
	case c.IdleTimeout < 0:
		return fmt.Errorf("-idle-timeout must be 0 or more, not %s", c.IdleTimeout)
	case c.MaxConnectionsPerIP < 0:
		return fmt.Errorf("-max-connections-per-ip must be 0 or more, not %d", c.MaxConnectionsPerIP)
	}
	if err := checkRate("stream-rate", c.StreamRate, "stream-burst", c.StreamBurst); err != nil {
		return err
	}
	if err := checkRate("stream-rate-per-ip", c.StreamRatePerIP, "stream-burst-per-ip", c.StreamBurstPerIP); err != nil {
		return err
	}
	if err := checkRate("notice-rate", c.NoticeRate, "notice-burst", c.NoticeBurst); err != nil {
		return err
	}
	switch {
	case c.BigRoom < 0:
		return fmt.Errorf("-big-room must be 0 or more, not %d", c.BigRoom)
	case c.BigRoomSummary <= 0:
		return fmt.Errorf("-big-room-summary must be more than 0, not %s", c.BigRoomSummary)
	case c.MaxRooms < 0:
		return fmt.Errorf("-max-rooms must be 0 or more, not %d", c.MaxRooms)
	case c.MaxRoomsPerIP < 0:
		return fmt.Errorf("-max-rooms-per-ip must be 0 or more, not %d", c.MaxRoomsPerIP)
	case c.HistoryBytes <= 0:
		return fmt.Errorf("-history-bytes must be more than 0, not %d", c.HistoryBytes)
	case c.RoomRetention < 0:
		return fmt.Errorf("-room-retention must be 0 or more, not %s", c.RoomRetention)
	case c.ResumeGrace < 0:
		return fmt.Errorf("-resume-grace must be 0 or more, not %s", c.ResumeGrace)
	case c.NATSURL != "" && len(c.NATSURLs()) == 0:
		return fmt.Errorf("-nats-url must list NATS server URLs, not %q", c.NATSURL)
	case c.NATSURL != "" && c.NATSAddr != "":
		return errors.New("-nats-addr is for the embedded NATS server; it cannot be used with -nats-url")
	case (c.NATSCert == "") != (c.NATSKey == ""):
		return errors.New("-nats-cert and -nats-key must be given together")
	case c.NATSURL == "" && (c.NATSCA != "" || c.NATSCert != "" || c.NATSCreds != ""):
		return errors.New("-nats-ca, -nats-cert, -nats-key and -nats-creds need -nats-url")
	case c.NATSReplicas < 1 || c.NATSReplicas > 5:
		return fmt.Errorf("-nats-replicas must be 1 to 5, not %d", c.NATSReplicas)
	case c.NodeTTL < time.Second:
		return fmt.Errorf("-node-ttl must be 1s or more, not %s", c.NodeTTL)
	case c.MaxFileBytes <= 0:
		return fmt.Errorf("-max-file-bytes must be more than 0, not %d", c.MaxFileBytes)
	case c.FileQuotaBytes < 0:
		return fmt.Errorf("-file-quota-bytes must be 0 or more, not %d", c.FileQuotaBytes)
	case c.FileRetention < 0:
		return fmt.Errorf("-file-retention must be 0 or more, not %s", c.FileRetention)
	}
	return nil
}

// checkRate validates a token bucket's rate (0: no limit) and burst.
func checkRate(rateFlag string, rate float64, burstFlag string, burst int) error {
	switch {
	case rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
		return fmt.Errorf("-%s must be 0 or more, not %v", rateFlag, rate)
	case rate > 0 && burst < 1:
		return fmt.Errorf("-%s must be 1 or more when -%s is set, not %d", burstFlag, rateFlag, burst)
	}
	return nil
}

// writeUsage lists every flag with its variable and default.
func writeUsage(w io.Writer, prog string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nPolychat chat server (chat.ChatService).\nEach flag can also be set by the environment variable shown; a flag wins.\n\nFlags:\n", prog)
	fs.VisitAll(func(f *flag.Flag) {
		if cli.IsDeprecated(f) {
			return
		}
		name, _ := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s %s\n    \t%s\n    \t(env %s, default %q)\n", f.Name, strings.TrimSpace(name), f.Usage, env[f.Name].Name, f.DefValue)
	})
	fmt.Fprintf(w, "\nSecrets, from the environment only (a flag would show them in ps):\n"+
		"  %s\n    \tLoggerService's shared write key, sent with each audit event\n"+
		"  %s\n    \tthe key (at least %d bytes) file grants are signed with, instead of -file-key-file; StreamingService's STREAMING_FILE_KEY\n",
		LoggerWriteKeyEnv, FileKeyEnv, filegrant.MinKeyBytes)
}
