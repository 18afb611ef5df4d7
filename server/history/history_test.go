package history

import (
	"database/sql"
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
	for _, room := range []string{"a", "b", "none"} {
		if err := s.Load(room); err != nil {
			t.Fatal(err)
		}
	}
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
	m := NewMemory(3, 0)
	checkStore(t, m)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(text(99, "a", "late")); err != ErrClosed {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestMemoryZeroKeepsNothing(t *testing.T) {
	m := NewMemory(0, 0)
	m.Append(text(1, "a", "x"))
	if got := m.Recent("a"); len(got) != 0 {
		t.Fatalf("Recent = %v", got)
	}
}

func TestSQLiteSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "chat.db")
	s, err := OpenSQLite(path, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
	last, _ := s.ReserveIDs(1)
	client := text(12, "a", "with client time")
	client.ClientSentAt = timestamppb.New(time.Unix(1600000000, 5))
	client.ClientMsgId = "0b5d4a2e-8c3f-4f7e-9a61-2d3c4b5a6978"
	client.Epoch = s.Epoch() // as the chat server sets it
	s.Append(client)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := OpenSQLite(path, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if len(s2.mem.rooms) != 0 {
		t.Fatalf("%d rooms read at open; want none before a Load", len(s2.mem.rooms))
	}
	for _, room := range []string{"a", "b"} {
		if err := s2.Load(room); err != nil {
			t.Fatal(err)
		}
	}
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

// flush waits until everything sent to the writer so far is written.
func (s *SQLite) flush() {
	done := make(chan struct{})
	s.pending <- op{flushed: done}
	<-done
}

// An unloaded room's history leaves memory once written, and comes back
// from disk on the next Load.
func TestSQLiteIdleRoomsLeaveMemory(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "chat.db"), 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Load("a"); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 3; i++ {
		s.Append(text(i, "a", fmt.Sprint("a", i)))
	}
	// Two loads (two members, or a new room object while the old one
	// leaves): the history stays until both are undone.
	s.Load("a")
	s.Unload("a")
	s.flush()
	if bodies(s.Recent("a")) != "a1 a2 a3 " {
		t.Fatalf("still loaded: Recent(a) = %q", bodies(s.Recent("a")))
	}
	s.Unload("a")
	if len(s.mem.rooms) != 0 {
		t.Fatalf("rooms in memory after the last Unload: %d", len(s.mem.rooms))
	}
	rooms, err := s.Rooms()
	if err != nil || len(rooms) != 1 || !rooms["a"].Equal(text(3, "a", "").GetSentAt().AsTime()) {
		t.Fatalf("Rooms() = %v, %v", rooms, err)
	}
	if err := s.Load("a"); err != nil {
		t.Fatal(err)
	}
	if bodies(s.Recent("a")) != "a1 a2 a3 " {
		t.Fatalf("after reload Recent(a) = %q", bodies(s.Recent("a")))
	}
	s.Unload("a")
}

// Unloading before the writer has written a room's messages keeps them in
// memory until it has, so a quick rejoin never misses them.
func TestSQLiteUnloadBeforeWriteKeepsMessages(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "chat.db"), 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Load("a")
	// Hold the writer in a transaction of our own so nothing is written.
	tx, err := s.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	s.Append(text(1, "a", "early"))
	s.Unload("a")
	if bodies(s.mem.Recent("a")) != "early " {
		t.Fatalf("unwritten message dropped from memory: %q", bodies(s.mem.Recent("a")))
	}
	tx.Rollback()
	s.flush()
	if len(s.mem.rooms) != 0 {
		t.Fatal("room kept in memory after its messages were written")
	}
}

func TestDeleteForgetsARoom(t *testing.T) {
	dir := t.TempDir()
	sq, err := OpenSQLite(filepath.Join(dir, "chat.db"), 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	for name, s := range map[string]Store{"memory": NewMemory(50, 0), "sqlite": sq} {
		s.Load("a")
		s.Append(text(1, "a", "old"))
		s.Append(text(2, "b", "other"))
		s.Unload("a")
		if err := s.Delete("a"); err != nil {
			t.Fatal(err)
		}
		s.Load("a")
		if got := s.Recent("a"); len(got) != 0 {
			t.Fatalf("%s: Recent after Delete = %q", name, bodies(got))
		}
		s.Unload("a")
		if sq, ok := s.(*SQLite); ok {
			sq.flush()
		}
		rooms, err := s.Rooms()
		if err != nil || len(rooms) != 1 || rooms["b"].IsZero() {
			t.Fatalf("%s: Rooms() = %v, %v; want only b", name, rooms, err)
		}
	}
}

// History is bounded by bytes as well as by count, in memory and on disk.
func TestHistoryBytesLimit(t *testing.T) {
	m := NewMemory(50, 12) // each message counts 1 (user "u") + 4 bytes
	for i := uint64(1); i <= 5; i++ {
		m.Append(text(i, "a", fmt.Sprint("msg", i)))
	}
	if got := bodies(m.Recent("a")); got != "msg4 msg5 " {
		t.Fatalf("Recent = %q, want the two newest", got)
	}

	s, err := OpenSQLite(filepath.Join(t.TempDir(), "chat.db"), 50, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Load("a")
	for i := uint64(1); i <= 5; i++ {
		s.Append(text(i, "a", fmt.Sprint("msg", i)))
	}
	s.flush()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM messages WHERE room = 'a'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows kept on disk = %d (%v), want 2", n, err)
	}
}

// Seqs count 1, 2, 3 ... per room, survive a restart, and are not reused
// after a room's history is deleted; the epoch stays with the database.
func TestSeqsAndEpoch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMemory(50, 0)
	if len(s.Epoch()) != 16 || len(mem.Epoch()) != 16 || s.Epoch() == mem.Epoch() || NewMemory(1, 0).Epoch() == mem.Epoch() {
		t.Fatalf("epochs %q %q", s.Epoch(), mem.Epoch())
	}
	for name, st := range map[string]Store{"sqlite": s, "memory": mem} {
		st.Load("a")
		st.Load("b")
		for i, room := range []string{"a", "a", "b", "a"} {
			msg := text(uint64(i+1), room, "x")
			st.Append(msg)
			if want := map[int]uint64{0: 1, 1: 2, 2: 1, 3: 3}[i]; msg.GetSeq() != want {
				t.Fatalf("%s: message %d in %s got seq %d, want %d", name, i, room, msg.GetSeq(), want)
			}
		}
		st.Unload("a")
		if err := st.Delete("a"); err != nil {
			t.Fatal(err)
		}
		st.Load("a")
		msg := text(10, "a", "after delete")
		st.Append(msg)
		if msg.GetSeq() != 4 || st.LastSeq("a") != 4 {
			t.Fatalf("%s: seq %d after the history was deleted, want 4", name, msg.GetSeq())
		}
	}
	epoch := s.Epoch()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Load("a")
	if s2.Epoch() != epoch || s2.LastSeq("a") != 4 {
		t.Fatalf("after reopen: epoch %q (was %q), last seq %d", s2.Epoch(), epoch, s2.LastSeq("a"))
	}
	got := s2.Recent("a")
	if len(got) != 1 || got[0].GetSeq() != 4 || got[0].GetEpoch() != epoch {
		t.Fatalf("reloaded %v", got)
	}
}

// A chat.db from before seqs is numbered in place, and keeps its rows.
func TestMigratesTheFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`
CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, user TEXT NOT NULL, text TEXT NOT NULL,
	sent_at INTEGER NOT NULL, client_sent_at INTEGER);
CREATE INDEX messages_room_id ON messages (room, id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('next_id', 2000);
INSERT INTO messages VALUES (7, 'a', 'u', 'a1', 1, NULL), (9, 'b', 'u', 'b1', 2, NULL), (12, 'a', 'u', 'a2', 3, 4);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Load("a")
	got := s.Recent("a")
	if bodies(got) != "a1 a2 " || got[0].GetSeq() != 1 || got[1].GetSeq() != 2 || got[1].GetId() != 12 {
		t.Fatalf("migrated room a: %v", got)
	}
	next := text(2001, "a", "new")
	s.Append(next)
	if next.GetSeq() != 3 {
		t.Fatalf("next seq %d, want 3", next.GetSeq())
	}
	if first, _ := s.ReserveIDs(1); first < 2000 {
		t.Fatalf("ids restart at %d after migration", first)
	}
}

// Sessions are saved in order with the messages, and read back after a
// restart; AfterCommit runs once what came before is on disk.
func TestSessionsAndCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	dropped := time.Unix(1700000000, 5)
	s.SaveSession(Session{ID: "s1", Room: "a", Name: "Alice", Named: true})
	s.SaveSession(Session{ID: "s2", Room: "a", Name: "Client(2)", User: "bob"})
	s.SaveSession(Session{ID: "s1", Room: "a", Name: "Alice", Named: true, DroppedAt: dropped})
	s.DeleteSession("s2")
	s.Load("a")
	s.Append(text(1, "a", "x"))
	done := make(chan struct{})
	if !s.AfterCommit(func() { close(done) }) {
		t.Fatal("AfterCommit has nothing to wait for")
	}
	<-done
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("AfterCommit ran with %d messages written (%v)", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.AfterCommit(func() {}) {
		t.Fatal("a closed store has something to wait for")
	}
	s2, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Sessions()
	if err != nil || len(got) != 1 || got[0].ID != "s1" || got[0].Name != "Alice" || !got[0].Named || !got[0].DroppedAt.Equal(dropped) {
		t.Fatalf("Sessions() = %+v, %v", got, err)
	}
	if NewMemory(1, 0).AfterCommit(func() {}) {
		t.Fatal("the memory store has something to wait for")
	}
}

// An action keeps its kind across a restart; everything else kept is text.
func TestSQLiteKeepsActions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	s, err := OpenSQLite(path, 10, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Load("a")
	action := text(1, "a", "* u waves")
	action.Kind = chatpb.ChatMessage_KIND_ACTION
	unspecified := text(2, "a", "plain")
	unspecified.Kind = chatpb.ChatMessage_KIND_UNSPECIFIED
	s.Append(action)
	s.Append(unspecified)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(path, 10, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.Load("a")
	got := s2.Recent("a")
	if len(got) != 2 || got[0].GetKind() != chatpb.ChatMessage_KIND_ACTION || got[1].GetKind() != chatpb.ChatMessage_KIND_TEXT {
		t.Fatalf("reloaded %v, want an action then a text", got)
	}
}

// A chat.db from before actions keeps its messages, as text.
func TestMigratesTheSchemaWithoutKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`
CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, user TEXT NOT NULL, text TEXT NOT NULL,
	sent_at INTEGER NOT NULL, client_sent_at INTEGER, seq INTEGER NOT NULL DEFAULT 0, client_msg_id TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('next_id', 2000);
INSERT INTO messages VALUES (7, 'a', 'u', 'a1', 1, NULL, 1, NULL), (12, 'a', 'u', 'a2', 3, 4, 2, 'id-2');
PRAGMA user_version = 1;`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenSQLite(path, 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Load("a")
	got := s.Recent("a")
	if bodies(got) != "a1 a2 " || got[0].GetKind() != chatpb.ChatMessage_KIND_TEXT || got[1].GetClientMsgId() != "id-2" {
		t.Fatalf("migrated room a: %v", got)
	}
	var version int
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != schemaVersion {
		t.Fatalf("user_version = %d (%v), want %d", version, err, schemaVersion)
	}
}
