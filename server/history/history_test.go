package history

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func text(id uint64, room, body string) *chatpb.ChatMessage {
	now := time.Unix(1700000000, int64(id)*1000)
	return &chatpb.ChatMessage{
		User: "u", Message: body, Timestamp: now.Unix(), Room: room,
		Kind: chatpb.ChatMessage_KIND_TEXT, Id: id, SentAt: timestamppb.New(now),
	}
}

func bodies(msgs []*chatpb.ChatMessage) string {
	s := ""
	for _, m := range msgs {
		s += m.GetMessage() + " "
	}
	return s
}

// checkStore runs the behaviour every Store shares.
func checkStore(t *testing.T, s Store) {
	t.Helper()
	for i := uint64(1); i <= 10; i++ {
		if err := s.Append(text(i, "a", fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(text(11, "b", "b1")); err != nil {
		t.Fatal(err)
	}
	if got, want := bodies(s.Recent("a")), "a8 a9 a10 "; got != want {
		t.Fatalf("Recent(a) = %q, want %q", got, want)
	}
	if got, want := bodies(s.Recent("b")), "b1 "; got != want {
		t.Fatalf("Recent(b) = %q, want %q", got, want)
	}
	if got := s.Recent("none"); len(got) != 0 {
		t.Fatalf("Recent(none) = %v", got)
	}
	first, err := s.ReserveIDs(100)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.ReserveIDs(100)
	if err != nil {
		t.Fatal(err)
	}
	if first <= 11 || second < first+100 {
		t.Fatalf("reserved %d then %d after id 11", first, second)
	}
}

func TestMemory(t *testing.T) {
	m := NewMemory(3)
	checkStore(t, m)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(text(99, "a", "late")); err != ErrClosed {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestMemoryZeroKeepsNothing(t *testing.T) {
	m := NewMemory(0)
	m.Append(text(1, "a", "x"))
	if got := m.Recent("a"); len(got) != 0 {
		t.Fatalf("Recent = %v", got)
	}
}

func TestSQLiteSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "chat.db")
	s, err := OpenSQLite(path, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
	last, _ := s.ReserveIDs(1)
	client := text(12, "a", "with client time")
	client.ClientSentAt = timestamppb.New(time.Unix(1600000000, 5))
	s.Append(client)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := OpenSQLite(path, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := s2.Recent("a")
	if bodies(got) != "a9 a10 with client time " {
		t.Fatalf("after reopen Recent(a) = %q", bodies(got))
	}
	if !proto.Equal(got[2], client) {
		t.Fatalf("reloaded %v, stored %v", got[2], client)
	}
	if bodies(s2.Recent("b")) != "b1 " {
		t.Fatalf("after reopen Recent(b) = %q", bodies(s2.Recent("b")))
	}
	next, err := s2.ReserveIDs(1)
	if err != nil {
		t.Fatal(err)
	}
	if next <= last {
		t.Fatalf("id %d reserved after reopen, %d before", next, last)
	}
	// Pruned on disk too: only 3 rows per room remain.
	var n int
	if err := s2.db.QueryRow(`SELECT COUNT(*) FROM messages WHERE room = 'a'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows in room a = %d (%v), want 3", n, err)
	}
	var mode string
	if err := s2.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
	}
}
