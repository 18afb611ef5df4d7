package config

import (
	"bytes"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/polychat/polychat/server/filegrant"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse("x", nil, lookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":50053" || c.DataDir != "data" || c.History != 50 || c.MaxMessageBytes != 4096 ||
		c.MaxNameBytes != 64 || c.QueueSize != 256 || c.ShutdownTimeout != 5*time.Second || c.LogFormat != "text" {
		t.Fatalf("defaults = %+v", c)
	}
	if c.TLS() || c.TLSClientCA != "" || c.AuthServer != "" || c.AuthCacheTTL != 30*time.Second ||
		c.MaxStreamsPerConn != 16 || c.MaxConnections != 2000 || c.Rate != 20 || c.Burst != 40 || c.MetricsAddr != ":9053" {
		t.Fatalf("security defaults = %+v", c)
	}
}

func TestAbuseLimitDefaultsAndEnv(t *testing.T) {
	c, err := Parse("x", nil, lookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxHeaderBytes != 8192 || c.HandshakeTimeout != 10*time.Second || c.IdleTimeout != 5*time.Minute ||
		c.MaxConnectionsPerIP != 20 || c.StreamRate != 2 || c.StreamBurst != 10 || c.StreamRatePerIP != 10 ||
		c.StreamBurstPerIP != 50 || c.NoticeRate != 2 || c.NoticeBurst != 10 || c.MaxRooms != 1000 ||
		c.MaxRoomsPerIP != 20 || c.HistoryBytes != 64<<10 || c.RoomRetention != 720*time.Hour ||
		c.ResumeGrace != 30*time.Second {
		t.Fatalf("defaults = %+v", c)
	}
	env := map[string]string{
		"CHAT_MAX_HEADER_BYTES": "4096", "CHAT_HANDSHAKE_TIMEOUT": "3s", "CHAT_IDLE_TIMEOUT": "0s",
		"CHAT_MAX_CONNECTIONS_PER_IP": "0", "CHAT_STREAM_RATE": "0", "CHAT_STREAM_BURST": "0",
		"CHAT_STREAM_RATE_PER_IP": "1.5", "CHAT_STREAM_BURST_PER_IP": "3", "CHAT_NOTICE_RATE": "0",
		"CHAT_NOTICE_BURST": "0", "CHAT_MAX_ROOMS": "7", "CHAT_MAX_ROOMS_PER_IP": "2",
		"CHAT_HISTORY_BYTES": "100", "CHAT_ROOM_RETENTION": "0s", "CHAT_RESUME_GRACE": "0",
	}
	c, err = Parse("x", []string{"-max-rooms", "9"}, lookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxHeaderBytes != 4096 || c.HandshakeTimeout != 3*time.Second || c.IdleTimeout != 0 ||
		c.MaxConnectionsPerIP != 0 || c.StreamRate != 0 || c.StreamRatePerIP != 1.5 || c.StreamBurstPerIP != 3 ||
		c.NoticeRate != 0 || c.MaxRooms != 9 || c.MaxRoomsPerIP != 2 || c.HistoryBytes != 100 || c.RoomRetention != 0 ||
		c.ResumeGrace != 0 {
		t.Fatalf("from env = %+v", c)
	}
}

func TestEnvAndFlagPrecedence(t *testing.T) {
	env := map[string]string{"CHAT_ADDR": ":1", "CHAT_QUEUE_SIZE": "9", "POLYCHAT_DATA_DIR": "", "POLYCHAT_LOG_LEVEL": "debug"}
	c, err := Parse("x", []string{"-addr", ":2"}, lookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":2" || c.QueueSize != 9 || c.DataDir != "" || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("got %+v", c)
	}
}

func TestSecurityFromEnv(t *testing.T) {
	env := map[string]string{
		"POLYCHAT_TLS_CERT": "s.pem", "POLYCHAT_TLS_KEY": "s-key.pem", "POLYCHAT_TLS_CLIENT_CA": "ca.pem",
		"CHAT_AUTH_SERVER": "localhost:50054", "CHAT_AUTH_CA": "ca.pem", "CHAT_AUTH_CERT": "c.pem", "CHAT_AUTH_KEY": "c-key.pem",
		"CHAT_MAX_STREAMS_PER_CONN": "4", "CHAT_MAX_CONNECTIONS": "0", "CHAT_RATE": "0", "CHAT_BURST": "0",
		"CHAT_METRICS_ADDR": "", "CHAT_AUTH_CACHE_TTL": "5s",
	}
	c, err := Parse("x", nil, lookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS() || c.TLSClientCA != "ca.pem" || c.AuthServer != "localhost:50054" || c.AuthCert != "c.pem" ||
		c.MaxStreamsPerConn != 4 || c.MaxConnections != 0 || c.Rate != 0 || c.MetricsAddr != "" || c.AuthCacheTTL != 5*time.Second {
		t.Fatalf("got %+v", c)
	}
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-history", "x"}, nil, "-history"},
		{nil, map[string]string{"CHAT_HISTORY": "x"}, "CHAT_HISTORY"},
		{[]string{"-queue", "0"}, nil, "-queue must be more than 0"},
		{nil, map[string]string{"POLYCHAT_LOG_FORMAT": "xml"}, "-log-format must be text or json"},
		{nil, map[string]string{"POLYCHAT_LOG_LEVEL": "loud"}, "POLYCHAT_LOG_LEVEL"},
		{[]string{"-log-level", "loud"}, nil, "want debug, info, warn or error"},
		{[]string{"-nope"}, nil, "-nope"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"-tls-cert", "c.pem"}, nil, "-tls-cert and -tls-key must be given together"},
		{nil, map[string]string{"POLYCHAT_TLS_CLIENT_CA": "ca.pem"}, "-tls-client-ca needs -tls-cert"},
		{[]string{"-auth-server", "x:1", "-auth-key", "k.pem"}, nil, "-auth-cert and -auth-key"},
		{[]string{"-auth-ca", "ca.pem"}, nil, "need -auth-server"},
		{[]string{"-rate", "-1"}, nil, "-rate must be 0 or more"},
		{nil, map[string]string{"CHAT_RATE": "5", "CHAT_BURST": "0"}, "-burst must be 1 or more"},
		{[]string{"-max-connections", "-3"}, nil, "-max-connections"},
		{[]string{"-max-streams-per-conn", "-1"}, nil, "-max-streams-per-conn"},
		{[]string{"-max-header-bytes", "100"}, nil, "-max-header-bytes must be 1024 or more"},
		{nil, map[string]string{"CHAT_HANDSHAKE_TIMEOUT": "0s"}, "-handshake-timeout must be more than 0"},
		{[]string{"-idle-timeout", "-1s"}, nil, "-idle-timeout must be 0 or more"},
		{nil, map[string]string{"CHAT_MAX_CONNECTIONS_PER_IP": "x"}, "CHAT_MAX_CONNECTIONS_PER_IP"},
		{[]string{"-max-connections-per-ip", "-1"}, nil, "-max-connections-per-ip must be 0 or more"},
		{[]string{"-stream-rate", "NaN"}, nil, "-stream-rate must be 0 or more"},
		{[]string{"-stream-burst", "0"}, nil, "-stream-burst must be 1 or more when -stream-rate is set"},
		{[]string{"-stream-burst-per-ip", "0"}, nil, "-stream-burst-per-ip must be 1 or more"},
		{[]string{"-notice-rate", "-2"}, nil, "-notice-rate must be 0 or more"},
		{[]string{"-notice-burst", "0"}, nil, "-notice-burst must be 1 or more"},
		{[]string{"-big-room", "-1"}, nil, "-big-room must be 0 or more"},
		{[]string{"-big-room-summary", "0s"}, nil, "-big-room-summary must be more than 0"},
		{nil, map[string]string{"CHAT_BIG_ROOM_SUMMARY": "soon"}, "CHAT_BIG_ROOM_SUMMARY"},
		{[]string{"-max-rooms", "-1"}, nil, "-max-rooms must be 0 or more"},
		{[]string{"-max-file-bytes", "0"}, nil, "-max-file-bytes must be more than 0"},
		{nil, map[string]string{"CHAT_FILE_QUOTA_BYTES": "-1"}, "-file-quota-bytes must be 0 or more"},
		{[]string{"-max-rooms-per-ip", "-1"}, nil, "-max-rooms-per-ip must be 0 or more"},
		{[]string{"-history-bytes", "0"}, nil, "-history-bytes must be more than 0"},
		{nil, map[string]string{"CHAT_ROOM_RETENTION": "-1h"}, "-room-retention must be 0 or more"},
		{nil, map[string]string{"CHAT_RESUME_GRACE": "-1s"}, "-resume-grace must be 0 or more"},
		{[]string{"-nats-url", " , "}, nil, "-nats-url must list NATS server URLs"},
		{[]string{"-nats-url", "nats://a:4222", "-nats-addr", ":4222"}, nil, "cannot be used with -nats-url"},
		{nil, map[string]string{"CHAT_NATS_CERT": "c.pem", "CHAT_NATS_URL": "nats://a"}, "-nats-cert and -nats-key"},
		{nil, map[string]string{"CHAT_NATS_CREDS": "x.creds"}, "need -nats-url"},
		{[]string{"-nats-replicas", "0"}, nil, "-nats-replicas must be 1 to 5"},
		{nil, map[string]string{"CHAT_NODE_TTL": "10ms"}, "-node-ttl must be 1s or more"},
		{[]string{"-admins", "alice"}, nil, "-admins needs -auth-server"},
		{[]string{"-logger-server", "l:1", "-logger-cert", "c.pem"}, nil, "-logger-cert and -logger-key must be given together"},
		{nil, map[string]string{"CHAT_LOGGER_CA": "ca.pem"}, "-logger-ca, -logger-cert and -logger-key need -logger-server"},
	} {
		_, err := Parse("x", tc.args, lookup(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %v: err = %v, want one line containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelpListsEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse("x", []string{"-h"}, lookup(nil), &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for name := range env {
		if name == "deliver-before-commit" { // retired: not listed
			continue
		}
		if !strings.Contains(out.String(), env[name].Name) || !strings.Contains(out.String(), "-"+name) {
			t.Errorf("usage lacks -%s / %s:\n%s", name, env[name].Name, out.String())
		}
	}
	if strings.Contains(out.String(), "-auth-addr") {
		t.Errorf("usage lists the deprecated -auth-addr:\n%s", out.String())
	}
}

func TestLogLevels(t *testing.T) {
	for v, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn,
		"warning": slog.LevelWarn, "WARNING": slog.LevelWarn, "error": slog.LevelError} {
		c, err := Parse("x", []string{"-log-level", v}, lookup(nil), nil)
		if err != nil || c.LogLevel != want {
			t.Errorf("-log-level %s: %v, %v; want %v", v, c.LogLevel, err, want)
		}
		c, err = Parse("x", nil, lookup(map[string]string{"POLYCHAT_LOG_LEVEL": v}), nil)
		if err != nil || c.LogLevel != want {
			t.Errorf("POLYCHAT_LOG_LEVEL=%s: %v, %v; want %v", v, c.LogLevel, err, want)
		}
	}
}

// The old names still work, each with one warning naming the new one, and
// the new name wins when both are set.
func TestDeprecatedNames(t *testing.T) {
	env := map[string]string{"CHAT_LOG_LEVEL": "warning", "CHAT_LOG_FORMAT": "json", "CHAT_AUTH_ADDR": "old:1"}
	c, err := Parse("x", nil, lookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelWarn || c.LogFormat != "json" || c.AuthServer != "old:1" {
		t.Fatalf("got %+v", c)
	}
	want := []string{ // in the order of the flags' names
		"environment variable CHAT_AUTH_ADDR is deprecated; use CHAT_AUTH_SERVER",
		"environment variable CHAT_LOG_FORMAT is deprecated; use POLYCHAT_LOG_FORMAT",
		"environment variable CHAT_LOG_LEVEL is deprecated; use POLYCHAT_LOG_LEVEL",
	}
	if !slices.Equal(c.Warnings, want) {
		t.Errorf("warnings = %q, want %q", c.Warnings, want)
	}

	c, err = Parse("x", []string{"-auth-addr", "flag:1"}, lookup(map[string]string{"CHAT_AUTH_SERVER": "env:1"}), nil)
	if err != nil || c.AuthServer != "flag:1" || !slices.Equal(c.Warnings, []string{"flag -auth-addr is deprecated; use -auth-server"}) {
		t.Errorf("-auth-addr: %q %q %v", c.AuthServer, c.Warnings, err)
	}
	env["POLYCHAT_LOG_LEVEL"], env["CHAT_AUTH_SERVER"] = "error", "new:1"
	c, err = Parse("x", nil, lookup(env), nil)
	if err != nil || c.LogLevel != slog.LevelError || c.AuthServer != "new:1" || len(c.Warnings) != 1 {
		t.Errorf("both names: %v %q %q %v", c.LogLevel, c.AuthServer, c.Warnings, err)
	}
}

func TestWebAddr(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, ":8053"},
		{nil, map[string]string{"CHAT_WEB_ADDR": "127.0.0.1:8080"}, "127.0.0.1:8080"},
		{nil, map[string]string{"CHAT_WEB_ADDR": ""}, ""},
		{[]string{"-web-addr", ":9000"}, map[string]string{"CHAT_WEB_ADDR": ":1"}, ":9000"},
		{[]string{"-web-addr="}, nil, ""},
	} {
		c, err := Parse("x", tc.args, lookup(tc.env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.WebAddr != tc.want {
			t.Errorf("%v %v: web addr %q, want %q", tc.args, tc.env, c.WebAddr, tc.want)
		}
	}
}

func TestClusterSettings(t *testing.T) {
	c, err := Parse("x", nil, lookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "" || c.NATSAddr != "" || c.NATSReplicas != 1 || c.NodeTTL != DefaultNodeTTL {
		t.Fatalf("cluster defaults = %+v", c)
	}
	c, err = Parse("x", []string{"-nats-replicas", "3"}, lookup(map[string]string{
		"CHAT_NATS_URL": "nats://a:4222, nats://b:4222,", "CHAT_NATS_CA": "ca.pem", "CHAT_NATS_CREDS": "u.creds",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.NATSURLs(), []string{"nats://a:4222", "nats://b:4222"}) ||
		c.NATSCA != "ca.pem" || c.NATSCreds != "u.creds" || c.NATSReplicas != 3 {
		t.Fatalf("cluster settings = %+v", c)
	}
	if c, err := Parse("x", []string{"-nats-addr", "127.0.0.1:4222"}, lookup(nil), nil); err != nil || c.NATSAddr != "127.0.0.1:4222" {
		t.Fatalf("-nats-addr alone: %v, %q", err, c.NATSAddr)
	}
}

// -deliver-before-commit is retired: accepted, by flag or variable, with
// one warning, and doing nothing.
func TestDeliverBeforeCommitIsRetired(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-deliver-before-commit"}, nil},
		{nil, map[string]string{"CHAT_DELIVER_BEFORE_COMMIT": "true"}},
	} {
		c, err := Parse("x", tc.args, lookup(tc.env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "-deliver-before-commit has no effect") {
			t.Fatalf("warnings %q", c.Warnings)
		}
	}
}

func TestAdmins(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{nil, nil, nil},
		{nil, map[string]string{"CHAT_ADMINS": " alice, bob ,,"}, []string{"alice", "bob"}},
		{[]string{"-admins", "carol"}, map[string]string{"CHAT_ADMINS": "alice"}, []string{"carol"}},
		{[]string{"-admins="}, map[string]string{"CHAT_ADMINS": "alice"}, nil},
	} {
		env := map[string]string{"CHAT_AUTH_SERVER": "localhost:50054"}
		maps.Copy(env, tc.env)
		c, err := Parse("x", tc.args, lookup(env), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Admins, tc.want) {
			t.Errorf("%v %v: admins %q, want %q", tc.args, tc.env, c.Admins, tc.want)
		}
	}
}

func TestLoggerSettings(t *testing.T) {
	c, err := Parse("x", []string{"-logger-cert", "c.pem", "-logger-key", "k.pem"}, lookup(map[string]string{
		"CHAT_LOGGER_SERVER": "logger:50055", "CHAT_LOGGER_CA": "ca.pem", "LOGGER_WRITE_KEY": "s3cret",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoggerServer != "logger:50055" || c.LoggerCA != "ca.pem" || c.LoggerCert != "c.pem" || c.LoggerKey != "k.pem" || c.LoggerWriteKey != "s3cret" {
		t.Fatalf("logger settings = %+v", c)
	}
}

// TestFileKeyFromTheEnvironment: CHAT_FILE_KEY gives the file key itself
// (surrounding whitespace ignored, at least 32 bytes), never quoted in an
// error, and never together with a key file.
func TestFileKeyFromTheEnvironment(t *testing.T) {
	const secret = "an-environment-file-key-0123456789abcdef"
	want, err := filegrant.NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{secret, "  " + secret + "\n"} {
		c, err := Parse("x", nil, lookup(map[string]string{"CHAT_FILE_KEY": v}), nil)
		if err != nil || c.FileKey == nil || c.FileKeyFile != "" {
			t.Fatalf("CHAT_FILE_KEY %q: %+v, %v", v, c, err)
		}
		grant := c.FileKey.Sign(filegrant.Claims{Kind: filegrant.Upload, Expires: 10})
		if _, err := want.Verify(grant, filegrant.Upload, time.Unix(0, 0)); err != nil {
			t.Fatalf("CHAT_FILE_KEY %q is not the key %q: %v", v, secret, err)
		}
	}
	c, err := Parse("x", nil, lookup(map[string]string{"CHAT_FILE_KEY": ""}), nil)
	if err != nil || c.FileKey != nil {
		t.Fatalf("empty CHAT_FILE_KEY: %+v, %v; want unset", c.FileKey, err)
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, map[string]string{"CHAT_FILE_KEY": "short-secret"},
			"invalid value for CHAT_FILE_KEY (environment only): the file key is 12 bytes; it needs at least 32"},
		{nil, map[string]string{"CHAT_FILE_KEY": "  short-secret \n"},
			"invalid value for CHAT_FILE_KEY (environment only): the file key is 12 bytes; it needs at least 32"},
		{nil, map[string]string{"CHAT_FILE_KEY": "   "},
			"invalid value for CHAT_FILE_KEY (environment only): the file key is 0 bytes; it needs at least 32"},
		{[]string{"-file-key-file", "file.key"}, map[string]string{"CHAT_FILE_KEY": secret},
			"CHAT_FILE_KEY and -file-key-file (CHAT_FILE_KEY_FILE) both give the file key; set only one"},
		{nil, map[string]string{"CHAT_FILE_KEY_FILE": "file.key", "CHAT_FILE_KEY": secret},
			"CHAT_FILE_KEY and -file-key-file (CHAT_FILE_KEY_FILE) both give the file key; set only one"},
	} {
		_, err := Parse("x", tc.args, lookup(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v %q: err = %v, want one line containing %q", tc.args, tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%v %q: the error shows the key: %v", tc.args, tc.env, err)
		}
	}
}

func TestHelpListsTheSecretsOfTheEnvironment(t *testing.T) {
	var out bytes.Buffer
	if _, err := Parse("x", []string{"-h"}, lookup(nil), &out); !errors.Is(err, ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{LoggerWriteKeyEnv, FileKeyEnv} {
		if !strings.Contains(out.String(), "\n  "+name+"\n") {
			t.Errorf("usage lacks %s:\n%s", name, out.String())
		}
	}
}
