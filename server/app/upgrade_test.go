package app

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/history"
)

// oldChatDB writes, with the store of the versions before NATS, a chat.db
// in dir: room general with two texts and an action, room gone whose
// history was deleted at seq 2, ids handed out up to 5000, and Bob's
// session (dropped a moment ago) in general. It returns the chat.db's
// epoch and Bob's resume token.
func oldChatDB(t *testing.T, dir string) (epoch, token string) {
	t.Helper()
	store, err := history.OpenSQLite(filepath.Join(dir, "chat.db"), 50, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	epoch = store.Epoch()
	sent := time.Unix(1700000000, 0)
	msg := func(id uint64, room, user, text string, kind chatpb.ChatMessage_Kind) *chatpb.ChatMessage {
		return &chatpb.ChatMessage{User: user, Message: text, Timestamp: sent.Unix(), Room: room, Kind: kind,
			Id: id, SentAt: timestamppb.New(sent), ClientMsgId: "c" + text}
	}
	for _, room := range []string{"general", "gone"} {
		if err := store.Load(room); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []*chatpb.ChatMessage{
		msg(10, "general", "Alice", "hello", chatpb.ChatMessage_KIND_TEXT),
		msg(11, "gone", "Alice", "x", chatpb.ChatMessage_KIND_TEXT),
		msg(12, "gone", "Alice", "y", chatpb.ChatMessage_KIND_TEXT),
		msg(13, "general", "Bob", "* Bob waves", chatpb.ChatMessage_KIND_ACTION),
		msg(14, "general", "Bob", "bye", chatpb.ChatMessage_KIND_TEXT),
	} {
		if err := store.Append(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Delete("gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ReserveIDs(5000); err != nil {
		t.Fatal(err)
	}
	// A resume token is the epoch, a dot and random bits; the store keeps
	// its SHA-256, as the chat server does.
	token = epoch + ".old-session-token-of-bob"
	sum := sha256.Sum256([]byte(token))
	if err := store.SaveSession(history.Session{ID: hex.EncodeToString(sum[:]), Room: "general", Name: "Bob", Named: true,
		DroppedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return epoch, token
}

// Upgrading loses nothing: the first start on a data directory with a
// chat.db imports it into the embedded NATS and renames it, and the
// history, seqs, ids, epoch and sessions go on from it.
func TestOldChatDBIsImportedOnce(t *testing.T) {
	dir := t.TempDir()
	epoch, token := oldChatDB(t, dir)
	cfg := testConfig(t, "-data-dir", dir)
	srv := start(t, cfg)
	if _, err := os.Stat(filepath.Join(dir, "chat.db")); !os.IsNotExist(err) {
		t.Fatalf("chat.db is still there after the import: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chat.db.imported")); err != nil {
		t.Fatal(err)
	}
	cc := dial(t, srv.Addr().String(), nil)

	// Bob resumes his session, and is shown what he missed by seq.
	bob, w := join(t, cc, chatwire.UserKey, "x", chatwire.ResumeTokenKey, token,
		chatwire.ResumeFromKey, epoch+":1")
	if !w.GetResumed() || w.GetMessage() != "Welcome back, Bob! You are in room general." || w.GetEpoch() != epoch {
		t.Fatalf("Bob's welcome: %v", w)
	}
	for _, want := range []struct {
		seq  uint64
		kind chatpb.ChatMessage_Kind
		text string
	}{{2, chatpb.ChatMessage_KIND_ACTION, "* Bob waves"}, {3, chatpb.ChatMessage_KIND_TEXT, "bye"}} {
		if m := recv(t, bob); m.GetSeq() != want.seq || m.GetKind() != want.kind || m.GetMessage() != want.text {
			t.Fatalf("Bob got %v, want seq %d %q", m, want.seq, want.text)
		}
	}

	// A newcomer gets the whole history, ids and all; new ids go on
	// after the ones the old store handed out.
	carol, w := join(t, cc, chatwire.UserKey, "Carol")
	if w.GetId() < 5000 {
		t.Fatalf("a new message has id %d; the old store had handed out ids up to 5000", w.GetId())
	}
	if m := recv(t, carol); m.GetKind() != chatpb.ChatMessage_KIND_HISTORY_START {
		t.Fatalf("Carol got %v", m)
	}
	if m := recv(t, carol); m.GetId() != 10 || m.GetSeq() != 1 || m.GetMessage() != "hello" || m.GetClientMsgId() != "chello" {
		t.Fatalf("Carol's history starts with %v", m)
	}

	// Room gone keeps counting from its last seq.
	dave, _ := join(t, cc, chatwire.UserKey, "Dave", chatwire.RoomKey, "gone")
	if err := dave.Send(&chatpb.ChatMessage{Message: "again"}); err != nil {
		t.Fatal(err)
	}
	eve, _ := join(t, cc, chatwire.UserKey, "Eve", chatwire.RoomKey, "gone")
	for {
		m := recv(t, eve)
		if m.GetKind() == chatpb.ChatMessage_KIND_TEXT {
			if m.GetSeq() != 3 || m.GetMessage() != "again" {
				t.Fatalf("room gone's next text: %v", m)
			}
			break
		}
	}
}
