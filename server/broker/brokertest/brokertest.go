// Package brokertest starts NATS servers for tests of the broker and of
// the chat on it.
package brokertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server starts a NATS server with JetStream, in-process and without a
// port, storing under a temporary directory, for several brokers to share;
// it is shut down when the test ends.
func Server(t testing.TB) *server.Server {
	t.Helper()
	return ServerAt(t, t.TempDir())
}

// ServerAt is Server storing under dir: a server started again on the same
// dir has what the previous one stored (shut that one down first).
func ServerAt(t testing.TB, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: dir, DontListen: true, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server did not start")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}

// JetStream connects to ns in-process; the connection is closed when the
// test ends.
func JetStream(t testing.TB, ns *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// DeleteConsumers deletes the consumers of stream but those named in
// keep, as losing the NATS server that held them does, and returns how
// many it deleted.
func DeleteConsumers(t testing.TB, js jetstream.JetStream, stream string, keep ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	lister := st.ListConsumers(ctx)
	n := 0
	for info := range lister.Info() {
		if slices.Contains(keep, info.Name) {
			continue
		}
		if err := js.DeleteConsumer(ctx, stream, info.Name); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := lister.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
