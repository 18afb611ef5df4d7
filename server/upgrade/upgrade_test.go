package upgrade

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/broker/brokertest"
	"github.com/polychat/polychat/server/history"
)

var quiet = slog.New(slog.DiscardHandler)

func TestNothingToImport(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		if src, err := Find(dir, 50, quiet); src != nil || err != nil {
			t.Fatalf("Find(%q) = %v, %v", dir, src, err)
		}
	}
}

// A chat.db is not mixed into NATS that holds another history (a cluster
// that existed before this node): the file stays for the operator.
func TestNotImportedIntoAnotherHistory(t *testing.T) {
	dir := t.TempDir()
	store, err := history.OpenSQLite(filepath.Join(dir, FileName), 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := Find(dir, 50, quiet)
	if err != nil || src == nil {
		t.Fatalf("Find: %v, %v", src, err)
	}
	b, err := broker.Open(context.Background(), broker.Options{Server: brokertest.Server(t), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = src.Into(context.Background(), b)
	if err == nil || !strings.Contains(err.Error(), "NATS already holds another history") {
		t.Fatalf("Into: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("chat.db is gone: %v", err)
	}
}
