package broker

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// same reports whether two files read from the store say the same.
func same(a, b *File) bool {
	x, y := *a, *b
	x.rev, y.rev = 0, 0
	return x == y
}

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
	if !same(got, f) {
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
	if used, err := a.FileUsage(ctx(t), UserAccount("Alice")); err != nil || used != 600 {
		t.Fatalf("usage %d, %v; want 600", used, err)
	}
	g.Size = 400
	if err := b.ShareFile(ctx(t), &g, 1000); err != nil {
		t.Fatalf("up to the quota exactly: %v", err)
	}
	if used, err := b.FileUsage(ctx(t), UserAccount("Bob")); err != nil || used != 0 {
		t.Fatalf("another user's usage %d, %v", used, err)
	}
}

// An offer counts against its account at once, whether or not it is ever
// shared: its bytes may be stored from then on. Sharing it counts nothing
// more, and keeps the account the offer was made with.
func TestAnOfferCountsUntilItIsDeleted(t *testing.T) {
	b := open(t, nil)
	offered := time.Now().UTC().Truncate(time.Second)
	offer := func(size int64, addr string) (*File, error) {
		id, err := b.NewFileID(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		f := &File{ID: id, Epoch: b.Epoch(), Name: "x.bin", Size: size, User: "Mallory", Room: "general",
			Address: addr, OfferedAt: offered}
		return f, b.OfferFile(ctx(t), f, 1000)
	}
	usage := func(acct Account) int64 {
		t.Helper()
		used, err := b.FileUsage(ctx(t), acct)
		if err != nil {
			t.Fatal(err)
		}
		return used
	}

	first, err := offer(700, "10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := offer(400, "10.0.0.7"); !errors.Is(err, ErrQuota) {
		t.Fatalf("a second offer over the address's quota, never shared: %v", err)
	}
	if used := usage(AddressAccount("10.0.0.7")); used != 700 {
		t.Fatalf("the address's usage is %d; want 700", used)
	}
	if used := usage(UserAccount("Mallory")); used != 0 {
		t.Fatalf("a name without sign-in is counted: %d", used)
	}
	if _, err := offer(400, "10.0.0.8"); err != nil {
		t.Fatalf("another address has a quota of its own: %v", err)
	}
	if got, err := b.File(ctx(t), first.ID); err != nil || got.Shared() {
		t.Fatalf("an offer reads %+v, %v; want it kept, not shared", got, err)
	}

	shared := &File{ID: first.ID, Epoch: first.Epoch, Name: first.Name, Size: first.Size, SHA256: "cd",
		User: "Mallory", Room: "general", SharedAt: offered.Add(time.Second)}
	if err := b.ShareFile(ctx(t), shared, 1000); err != nil {
		t.Fatal(err)
	}
	if used := usage(AddressAccount("10.0.0.7")); used != 700 {
		t.Fatalf("sharing an offer counted it again: usage %d", used)
	}
	got, err := b.File(ctx(t), first.ID)
	if err != nil || !got.Shared() || got.Address != "10.0.0.7" || !got.Since().Equal(offered) || got.SHA256 != "cd" {
		t.Fatalf("the shared offer reads %+v, %v", got, err)
	}
	if err := b.ShareFile(ctx(t), shared, 1000); !errors.Is(err, ErrFileExists) {
		t.Fatalf("sharing an offer twice: %v", err)
	}
}

// Deleting a file gives its bytes back once, however many nodes try.
func TestDeletingAFileGivesItsBytesBackOnce(t *testing.T) {
	ns := natsServer(t)
	a, b := open(t, ns), open(t, ns)
	old := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for i, room := range []string{"general", "red", "general"} {
		id, err := a.NewFileID(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		f := &File{ID: id, Epoch: a.Epoch(), Name: "f.bin", Size: 100, User: "Alice", Room: room,
			OfferedAt: old.Add(time.Duration(i) * time.Minute)}
		if err := a.OfferFile(ctx(t), f, 0); err != nil {
			t.Fatal(err)
		}
	}
	inGeneral := func(f *File) bool { return f.Room == "general" }
	onA, err := a.Files(ctx(t), inGeneral)
	if err != nil {
		t.Fatal(err)
	}
	onB, err := b.Files(ctx(t), inGeneral)
	if err != nil {
		t.Fatal(err)
	}
	if len(onA) != 2 || len(onB) != 2 {
		t.Fatalf("files in general: %d and %d; want 2", len(onA), len(onB))
	}
	for i := range onA {
		deleted, err := a.DeleteFile(ctx(t), onA[i])
		if err != nil || !deleted {
			t.Fatalf("first delete: %v, %v", deleted, err)
		}
		deleted, err = b.DeleteFile(ctx(t), onB[i])
		if err != nil || deleted {
			t.Fatalf("a file deleted twice: %v, %v", deleted, err)
		}
		if _, err := b.File(ctx(t), onA[i].ID); !errors.Is(err, ErrFileNotFound) {
			t.Fatalf("a deleted file is still read: %v", err)
		}
	}
	if used, err := b.FileUsage(ctx(t), UserAccount("Alice")); err != nil || used != 100 {
		t.Fatalf("usage after deleting two of three files: %d, %v; want 100", used, err)
	}
	left, err := b.Files(ctx(t), func(*File) bool { return true })
	if err != nil || len(left) != 1 || left[0].Room != "red" {
		t.Fatalf("files left: %v, %v", left, err)
	}

	// The last file deleted takes Alice's usage, back at zero, with it,
	// and the markers of what was deleted can be purged.
	if deleted, err := a.DeleteFile(ctx(t), left[0]); err != nil || !deleted {
		t.Fatalf("deleting the last file: %v, %v", deleted, err)
	}
	if err := a.PurgeDeletedFiles(ctx(t), 0); err != nil {
		t.Fatal(err)
	}
	st, err := a.files.Status(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Values(); n != 0 {
		t.Fatalf("%d entries left in the bucket once every file is deleted and purged", n)
	}
	if used, err := b.FileUsage(ctx(t), UserAccount("Alice")); err != nil || used != 0 {
		t.Fatalf("usage after every file was deleted: %d, %v", used, err)
	}
	g := &File{ID: 999, Epoch: a.Epoch(), Name: "g.bin", Size: 10, User: "Alice", Room: "general", OfferedAt: old}
	if err := b.OfferFile(ctx(t), g, 100); err != nil {
		t.Fatalf("offering after the usage was deleted: %v", err)
	}
	if used, err := a.FileUsage(ctx(t), UserAccount("Alice")); err != nil || used != 10 {
		t.Fatalf("usage counted again: %d, %v", used, err)
	}
}

// Offers made at once on two nodes count every byte once and pass the
// quota together never: a node whose usage update loses the race to the
// other's counts again from what the other wrote.
func TestOffersMadeAtOnceOnTwoNodesKeepTheQuotaExactly(t *testing.T) {
	ns := natsServer(t)
	nodes := []*Broker{open(t, ns), open(t, ns)}
	const size, quota, offers = 10, 150, 40
	offered := time.Now().UTC().Truncate(time.Second)
	errs := make(chan error, offers)
	var wg sync.WaitGroup
	for i := range offers {
		b := nodes[i%len(nodes)]
		id, err := b.NewFileID(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			f := &File{ID: id, Epoch: b.Epoch(), Name: "x.bin", Size: size, User: "Mallory", Room: "general",
				Address: "10.0.0.9", OfferedAt: offered}
			errs <- b.OfferFile(ctx(t), f, quota)
		})
	}
	wg.Wait()
	close(errs)
	kept := 0
	for err := range errs {
		switch {
		case err == nil:
			kept++
		case !errors.Is(err, ErrQuota):
			t.Errorf("an offer failed for another reason than the quota: %v", err)
		}
	}
	if kept != quota/size {
		t.Errorf("%d offers kept; want %d, the quota exactly", kept, quota/size)
	}
	if used, err := nodes[1].FileUsage(ctx(t), AddressAccount("10.0.0.9")); err != nil || used != int64(kept*size) {
		t.Fatalf("usage %d, %v; want %d, the bytes of the offers kept", used, err, kept*size)
	}
}
