package broker

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedReady bounds the embedded server's start (reading a large store
// from disk included).
const embeddedReady = time.Minute

// startEmbedded starts a NATS server with JetStream in this process. It
// listens for clients only on opts.Listen (if set): the chat server itself
// connects in-process. Its store is <DataDir>/nats, or a temporary
// directory (returned, for removal) when everything is kept in memory.
func startEmbedded(opts Options) (*server.Server, string, error) {
	sopts := &server.Options{
		ServerName: "polychat-embedded",
		JetStream:  true,
		NoSigs:     true,
		DontListen: opts.Listen == "",
	}
	var tmp string
	if opts.DataDir != "" {
		sopts.StoreDir = filepath.Join(opts.DataDir, "nats")
	} else {
		// Only memory streams and buckets are made, but JetStream wants a
		// directory of its own.
		dir, err := os.MkdirTemp("", "polychat-nats-")
		if err != nil {
			return nil, "", fmt.Errorf("broker: embedded NATS: %w", err)
		}
		sopts.StoreDir, tmp = dir, dir
	}
	if opts.Listen != "" {
		host, port, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, tmp, fmt.Errorf("broker: embedded NATS listen address %q: %w", opts.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, tmp, fmt.Errorf("broker: embedded NATS listen address %q: bad port", opts.Listen)
		}
		sopts.Host, sopts.Port = host, p
		if p == 0 {
			sopts.Port = server.RANDOM_PORT
		}
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, tmp, fmt.Errorf("broker: embedded NATS: %w", err)
	}
	ns.SetLoggerV2(serverLogger{opts.Logger.With("component", "nats")}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(embeddedReady) {
		ns.Shutdown()
		return nil, tmp, fmt.Errorf("broker: embedded NATS did not start within %s", embeddedReady)
	}
	if opts.Listen != "" {
		opts.Logger.Info("embedded NATS accepting clients", "addr", ns.Addr().String())
	}
	return ns, tmp, nil
}

// serverLogger passes the embedded server's warnings and errors to slog;
// its notices go at debug level, so that a chat server's log stays about
// the chat.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any)  {}
func (l serverLogger) Tracef(format string, v ...any)  {}

// ListenAddr returns the address the embedded server accepts NATS clients
// on, or nil when it accepts none (or there is no embedded server).
func (b *Broker) ListenAddr() net.Addr {
	if b.ns == nil || b.opts.Listen == "" {
		return nil
	}
	return b.ns.Addr()
}
