package chat

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// A file is deleted once the retention period after its offer is over,
// shared or not: its quota comes back, and a member asking for it is told
// it expired. The sweep is driven with the time it is given.
func TestFilesExpireAfterTheRetentionPeriod(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 1500, FileRetention: 48 * time.Hour})
	alice := ts.joinFiler(t, "Alice", "general")
	shared := alice.shareFile(t, "a.bin", 1000, strings.Repeat("0", 64))
	if _, err := alice.offer("b.bin", 500); err != nil { // never shared
		t.Fatal(err)
	}
	start := time.Now()
	if n := ts.svc.ExpireFiles(start.Add(UnsharedOfferKept - time.Minute)); n != 0 {
		t.Fatalf("expired %d files before their time", n)
	}
	_, err := alice.offer("c.bin", 1)
	wantCode(t, err, codes.ResourceExhausted, "only 0 bytes of your address's quota")
	if n := ts.svc.ExpireFiles(start.Add(UnsharedOfferKept)); n != 1 {
		t.Fatalf("expired %d files, want the offer never shared", n)
	}
	if n := ts.svc.ExpireFiles(start.Add(47 * time.Hour)); n != 0 {
		t.Fatalf("expired %d files before the retention period", n)
	}
	if _, err := alice.get(shared.GetId()); err != nil {
		t.Fatalf("a file within the retention period: %v", err)
	}

	if n := ts.svc.ExpireFiles(start.Add(48*time.Hour + time.Second)); n != 1 {
		t.Fatalf("expired %d files, want the shared one", n)
	}
	if n := ts.svc.ExpireFiles(start.Add(48*time.Hour + time.Second)); n != 0 {
		t.Fatalf("a second sweep expired %d files", n)
	}
	_, err = alice.get(shared.GetId())
	wantCode(t, err, codes.NotFound, "no file "+itoa(shared.GetId())+
		" was shared in room general, or it has expired: shared files are kept for 2 days")
	alice.shareFile(t, "d.bin", 1500, strings.Repeat("1", 64)) // the whole quota is back
}

// An offer never shared (its upload failed, or the client went away) gives
// its bytes back to the quota after UnsharedOfferKept, even where shared
// files are kept as long as their room's history.
func TestAnOfferNeverSharedGivesItsQuotaBack(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 1000})
	alice := ts.joinFiler(t, "Alice", "general")
	shared := alice.shareFile(t, "a.bin", 400, strings.Repeat("0", 64))
	if _, err := alice.offer("b.bin", 600); err != nil { // its upload never comes
		t.Fatal(err)
	}
	_, err := alice.offer("c.bin", 600)
	wantCode(t, err, codes.ResourceExhausted, "only 0 bytes of your address's quota")
	if n := ts.svc.ExpireFiles(time.Now().Add(UnsharedOfferKept)); n != 1 {
		t.Fatalf("expired %d files, want the offer never shared", n)
	}
	if _, err := alice.offer("c.bin", 600); err != nil {
		t.Fatalf("the quota after the unshared offer went: %v", err)
	}
	if n := ts.svc.ExpireFiles(time.Now().Add(365 * 24 * time.Hour)); n != 1 {
		t.Fatalf("a year on, expired %d files, want only the new offer (shared files stay with their room)", n)
	}
	if _, err := alice.get(shared.GetId()); err != nil {
		t.Fatalf("a shared file with no retention: %v", err)
	}
}

// A room's files go with its history: a room opened later under the same
// name does not inherit them.
func TestARoomsFilesGoWithItsHistory(t *testing.T) {
	ts := startServer(t, Config{FileKey: testFileKey, FileQuotaBytes: 1000, RoomRetention: time.Hour})
	alice := ts.joinFiler(t, "Alice", "red")
	shared := alice.shareFile(t, "a.bin", 1000, strings.Repeat("0", 64))
	alice.expect(chatpb.ChatMessage_KIND_FILE, "") // stored: the room has history
	bob := ts.joinFiler(t, "Bob", "blue")
	kept := bob.shareFile(t, "b.bin", 0, strings.Repeat("1", 64))
	alice.leave()
	if n := ts.svc.ExpireIdleRooms(time.Now().Add(2 * time.Hour)); n != 1 {
		t.Fatalf("expired %d rooms, want red", n)
	}
	mallory := ts.joinFiler(t, "Mallory", "red")
	_, err := mallory.get(shared.GetId())
	wantCode(t, err, codes.NotFound, "no file "+itoa(shared.GetId())+" was shared in room red")
	mallory.shareFile(t, "c.bin", 1000, strings.Repeat("2", 64)) // the quota is back
	if _, err := bob.get(kept.GetId()); err != nil {
		t.Fatalf("another room's file went too: %v", err)
	}
}
