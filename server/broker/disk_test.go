package broker

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts an 8 MiB tmpfs, a disk that really fills up (only root
// may mount one), for the test's life.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk is a small tmpfs, which only root can mount")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes a file in dir until the disk is full, and returns it.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// To the last byte: smaller and smaller writes once a big one fails.
	for size := 64 << 10; size > 0; size /= 4 {
		chunk := bytes.Repeat([]byte{1}, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return path
}

// On a full disk JetStream stops writing the store for good (until its
// server reads it again): the chat server says so — not connected, with
// words for clients — and once the disk has room again it starts its
// embedded server again and serves, with what it stored before.
func TestAFullDiskIsSaidAndRecoveredFrom(t *testing.T) {
	disk := smallDisk(t)
	b := open(t, nil, func(o *Options) { o.DataDir = filepath.Join(disk, "data") })
	status := make(chan bool, 16)
	b.OnStatus(func(up bool) { status <- up })
	if !<-status {
		t.Fatal("not connected at start")
	}
	f := follow(t, b, "r")
	publish(t, f.room, text("r", "A", "before"), "A")
	if got := f.next(t).Msg.GetMessage(); got != "before" {
		t.Fatalf("got %q", got)
	}

	filler := fill(t, disk)
	// Texts enough to need more of the disk than a page left over.
	for range 50 {
		f.room.Publish(text("r", "A", strings.Repeat("x", 1000)), "A", func(error) {})
	}
	select {
	case up := <-status:
		if up {
			t.Fatal("connected again before the disk had room")
		}
	case <-time.After(wait):
		t.Fatal("a full disk was not noticed")
	}
	if p := b.Problem(); !strings.Contains(p, "its disk is full") {
		t.Fatalf("Problem() = %q", p)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	select {
	case up := <-status:
		if !up {
			t.Fatal("status went down twice")
		}
	case <-time.After(wait):
		t.Fatal("not serving again after the disk had room")
	}
	publish(t, f.room, text("r", "A", "after"), "A")
	later := follow(t, b, "r")
	var got []string
	for _, d := range later.hist {
		got = append(got, d.Msg.GetMessage())
	}
	if len(got) == 0 || got[0] != "before" || got[len(got)-1] != "after" {
		t.Fatalf("history after the full disk: %q; want it to start with before and end with after", got)
	}
}
