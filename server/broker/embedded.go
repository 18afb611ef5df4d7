package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedReady bounds the embedded server's start (reading a large store
// from disk included).
const embeddedReady = time.Minute

// embedded is the NATS server with JetStream that this process runs when
// no NATS servers are given. It listens for clients only on Options.Listen
// (if set): the chat server itself connects in-process, through
// InProcessConn, to whichever server runs at the time, so that the server
// can be started again in place (see Broker.recoverStore).
type embedded struct {
	sopts *server.Options
	log   *slog.Logger
	tmp   string // the store directory when everything is in memory, for removal
	// writeFailed is called, once per server started, when that server
	// could not write its store.
	writeFailed func(*embedded, error)

	mu sync.Mutex
	ns *server.Server
	// life is held while the server is started again or shut down, so that
	// no server is started once shutdown began.
	life    sync.Mutex
	stopped bool
}

// startEmbedded starts the embedded server. Its store is <DataDir>/nats,
// or a temporary directory when everything is kept in memory.
func startEmbedded(opts Options, writeFailed func(*embedded, error)) (*embedded, error) {
	e := &embedded{
		sopts: &server.Options{
			ServerName: "polychat-embedded",
			JetStream:  true,
			NoSigs:     true,
			DontListen: opts.Listen == "",
		},
		log:         opts.Logger.With("component", "nats"),
		writeFailed: writeFailed,
	}
	if opts.DataDir != "" {
		e.sopts.StoreDir = filepath.Join(opts.DataDir, "nats")
	} else {
		// Only memory streams and buckets are made, but JetStream wants a
		// directory of its own.
		dir, err := os.MkdirTemp("", "polychat-nats-")
		if err != nil {
			return nil, fmt.Errorf("broker: embedded NATS: %w", err)
		}
		e.sopts.StoreDir, e.tmp = dir, dir
	}
	if opts.Listen != "" {
		host, port, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			e.removeTmp()
			return nil, fmt.Errorf("broker: embedded NATS listen address %q: %w", opts.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			e.removeTmp()
			return nil, fmt.Errorf("broker: embedded NATS listen address %q: bad port", opts.Listen)
		}
		e.sopts.Host, e.sopts.Port = host, p
		if p == 0 {
			e.sopts.Port = server.RANDOM_PORT
		}
	}
	ns, err := e.start()
	if err != nil {
		e.removeTmp()
		return nil, err
	}
	e.ns = ns
	if opts.Listen != "" {
		e.log.Info("embedded NATS accepting clients", "addr", ns.Addr().String())
		// A server started again listens where its clients know it.
		e.sopts.Port = ns.Addr().(*net.TCPAddr).Port
	}
	return e, nil
}

// start starts a server with e's options and waits until it is ready.
func (e *embedded) start() (*server.Server, error) {
	ns, err := server.NewServer(e.sopts)
	if err != nil {
		return nil, fmt.Errorf("broker: embedded NATS: %w", err)
	}
	var once sync.Once
	ns.SetLoggerV2(serverLogger{log: e.log, writeFailed: func(err error) {
		once.Do(func() { e.writeFailed(e, err) })
	}}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(embeddedReady) {
		ns.Shutdown()
		return nil, fmt.Errorf("broker: embedded NATS did not start within %s", embeddedReady)
	}
	return ns, nil
}

// server returns the server running now.
func (e *embedded) server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ns
}

// InProcessConn connects to the server running now (nats.InProcessConnProvider).
func (e *embedded) InProcessConn() (net.Conn, error) { return e.server().InProcessConn() }

// restart shuts the server down and starts another on the same store: it
// reads the store from disk again, as a server started anew does.
func (e *embedded) restart() error {
	e.life.Lock()
	defer e.life.Unlock()
	if e.stopped {
		return errors.New("broker: embedded NATS: shut down")
	}
	old := e.server()
	old.Shutdown()
	old.WaitForShutdown()
	ns, err := e.start()
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.ns = ns
	e.mu.Unlock()
	return nil
}

// shutdown stops the server and removes a temporary store.
func (e *embedded) shutdown() {
	e.life.Lock()
	defer e.life.Unlock()
	e.stopped = true
	ns := e.server()
	ns.Shutdown()
	ns.WaitForShutdown()
	e.removeTmp()
}

func (e *embedded) removeTmp() {
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// serverLogger passes the embedded server's warnings and errors to slog;
// its notices go at debug level, so that a chat server's log stays about
// the chat. A critical write error is also passed to writeFailed: it is
// the only word the server gives that it will not write that stream again.
type serverLogger struct {
	log         *slog.Logger
	writeFailed func(error)
}

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any)  {}
func (l serverLogger) Tracef(format string, v ...any)  {}

func (l serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	if strings.Contains(strings.ToLower(msg), "critical write error") {
		l.writeFailed(fmt.Errorf("%s", msg))
	}
}

// Alone reports whether no other chat server can share this node's rooms:
// its NATS server is embedded and accepts no clients from outside the
// process. What is meant only for other nodes (notices) need not be
// published then.
func (b *Broker) Alone() bool { return b.emb != nil && b.opts.Listen == "" }

// ListenAddr returns the address the embedded server accepts NATS clients
// on, or nil when it accepts none (or there is no embedded server).
func (b *Broker) ListenAddr() net.Addr {
	if b.emb == nil || b.opts.Listen == "" {
		return nil
	}
	return b.emb.server().Addr()
}

// Bounds of the wait between checks that a store which could not be
// written can be again.
const (
	storeCheckMin = 250 * time.Millisecond
	storeCheckMax = 5 * time.Second
	// storeCheckBytes is written (and removed) to tell a disk with room
	// again: enough for the server to reopen its store and take writes.
	storeCheckBytes = 1 << 20
)

// storeFailed is called when the embedded server could not write its store
// (a full or failing disk): JetStream then takes no more writes to that
// stream or bucket, and answers them with nothing. The chat server says so
// (not serving; clients are told why), and once the disk can be written
// again, starts the server again on its store, which it reads back as at a
// start, and serves again.
func (b *Broker) storeFailed(e *embedded, err error) {
	if !b.storeTrouble.CompareAndSwap(nil, &storeProblem{err: err}) {
		return // already recovering
	}
	b.log.Error("the chat's store cannot be written; refusing clients until it can be written again",
		"dir", e.sopts.StoreDir, "err", err)
	b.setConnected(false)
	go b.recoverStore(e)
}

// storeProblem is why the store cannot be written.
type storeProblem struct{ err error }

// recoverStore waits until the store's directory can be written, then
// starts the embedded server again; the connection to it comes back by
// itself, and with it the rooms (see connect).
func (b *Broker) recoverStore(e *embedded) {
	wait := storeCheckMin
	for !b.closing.Load() {
		time.Sleep(wait)
		wait = min(2*wait, storeCheckMax)
		if err := writable(e.sopts.StoreDir, storeCheckBytes); err != nil {
			continue
		}
		if err := e.restart(); err != nil {
			b.log.Error("cannot start the embedded NATS server again", "err", err)
			continue
		}
		b.storeTrouble.Store(nil)
		b.log.Info("the chat's store can be written again; serving", "dir", e.sopts.StoreDir)
		return
	}
}

// writable reports whether n bytes can be written and synced in dir.
func writable(dir string, n int) error {
	f, err := os.CreateTemp(dir, ".polychat-write-check-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(make([]byte, n)); err != nil {
		return err
	}
	return f.Sync()
}

// Problem says, in words for a client, why the broker cannot serve now.
func (b *Broker) Problem() string {
	if p := b.storeTrouble.Load(); p != nil {
		why := "its disk is failing"
		if strings.Contains(p.err.Error(), "no space left") {
			why = "its disk is full"
		}
		return "the chat server cannot store messages: " + why + "; try again shortly"
	}
	return "the chat's message broker is unreachable; try again shortly"
}
