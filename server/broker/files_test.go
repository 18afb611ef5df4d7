package broker

import (
	"errors"
	"testing"
	"time"
)

func TestFilesAreSharedByEveryNodeWithOneQuota(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	id1, err := a.NewFileID(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	id2, err := b.NewFileID(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if id1 == id2 {
		t.Fatalf("two nodes took the same file id %d", id1)
	}
	f := &File{ID: id1, Epoch: a.Epoch(), Name: "a.txt", Size: 600, SHA256: "ab", User: "Alice", Room: "general",
		SharedAt: time.Now().UTC().Truncate(time.Second)}
	if err := a.ShareFile(ctx(t), f, 1000); err != nil {
		t.Fatal(err)
	}
	got, err := b.File(ctx(t), id1)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *f {
		t.Fatalf("the other node reads %+v, want %+v", got, f)
	}
	if err := b.ShareFile(ctx(t), f, 1000); !errors.Is(err, ErrFileExists) {
		t.Fatalf("sharing a file id again: %v", err)
	}
	g := *f
	g.ID = id2
	if err := b.ShareFile(ctx(t), &g, 1000); !errors.Is(err, ErrQuota) {
		t.Fatalf("over the quota on the other node: %v", err)
	}
	if _, err := b.File(ctx(t), id2); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("a file refused is kept: %v", err)
	}
	if used, err := a.FileUsage(ctx(t), "Alice"); err != nil || used != 600 {
		t.Fatalf("usage %d, %v; want 600", used, err)
	}
	g.Size = 400
	if err := b.ShareFile(ctx(t), &g, 1000); err != nil {
		t.Fatalf("up to the quota exactly: %v", err)
	}
	if used, err := b.FileUsage(ctx(t), "Bob"); err != nil || used != 0 {
		t.Fatalf("another user's usage %d, %v", used, err)
	}
}
