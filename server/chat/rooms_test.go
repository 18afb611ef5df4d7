package chat

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// flushNotices sends room's pending notice summary now.
func (ts *testServer) flushNotices(room string) {
	ts.svc.mu.Lock()
	r := ts.svc.rooms[room]
	ts.svc.mu.Unlock()
	ts.svc.summarise(r)
}

// leave sends KIND_LEAVE and waits for the stream to end.
func (c *client) leave() {
	c.t.Helper()
	if err := c.stream.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE}); err != nil {
		c.t.Fatal(err)
	}
	for {
		select {
		case <-c.msgs:
		case <-c.done:
			return
		case <-time.After(wait):
			c.t.Fatal("stream did not end in time")
		}
	}
}

// Join and leave notices over the room's notice rate are held back and
// summed up in one system notice.
func TestJoinLeaveNoticesAreLimited(t *testing.T) {
	ts := startServer(t, Config{NoticeRate: 0.001, NoticeBurst: 2})
	ts.svc.summaryDelay = time.Hour      // flushed by hand below
	watcher := ts.join(t, "Watcher", "") // into an empty room: costs no notice
	a := ts.join(t, "A", "")
	watcher.expect(kJoin, "A joined the room")
	a.leave()
	watcher.expect(kLeave, "A left the room")
	for _, name := range []string{"B", "C", "D"} {
		ts.join(t, name, "").leave()
	}
	ts.join(t, "E", "")
	ts.flushNotices("general")
	watcher.expect(kSys, "4 joined and 3 left the room (too many to list one by one)")
	// Text still flows; F's join notice is held back (its summary pending).
	ts.join(t, "F", "").say("hello")
	watcher.expectText("F", "hello")
}

// The summary is sent by itself shortly after notices are held back.
func TestHeldBackNoticesAreSummedUpByATimer(t *testing.T) {
	ts := startServer(t, Config{NoticeRate: 0.001, NoticeBurst: 1})
	ts.svc.summaryDelay = 10 * time.Millisecond
	watcher := ts.join(t, "Watcher", "")
	ts.join(t, "A", "")
	watcher.expect(kJoin, "A joined the room")
	ts.join(t, "B", "")
	m := watcher.expect(kSys, "")
	if !regexp.MustCompile(`^1 joined the room \(too many to list one by one\)$`).MatchString(m.GetMessage()) {
		t.Fatalf("summary = %q", m.GetMessage())
	}
}

func refusal(t *testing.T, ts *testServer, user, room string) error {
	t.Helper()
	return recvUntilErr(t, ts.open(t, nil, chatwire.UserKey, user, chatwire.RoomKey, room))
}

// Rooms with members and rooms with kept history count against MaxRooms;
// an empty room without history is forgotten, and an expired one deleted.
func TestMaxRoomsAndExpiry(t *testing.T) {
	ts := startServer(t, Config{MaxRooms: 2, RoomRetention: time.Hour})
	ts.join(t, "Alice", "a")
	bob := ts.join(t, "Bob", "b")
	err := refusal(t, ts, "Carol", "c")
	if code(err) != codes.ResourceExhausted || status.Convert(err).Message() !=
		"the server has as many rooms as it allows (2); join an existing room or try again later" {
		t.Fatalf("third room: %v", err)
	}
	ts.join(t, "Carol", "a") // an existing room is fine
	bob.leave()              // b had no history: it is gone
	c := ts.join(t, "Carol", "c")
	eve := ts.join(t, "Eve", "c")
	c.say("keep me")
	eve.expectText("Carol", "keep me") // stored: delivered only once it is
	c.leave()
	eve.leave() // c keeps its history: it still counts
	if err := refusal(t, ts, "Dan", "d"); code(err) != codes.ResourceExhausted {
		t.Fatalf("room while c is idle: %v", err)
	}
	if n := ts.svc.ExpireIdleRooms(time.Now().Add(30 * time.Minute)); n != 0 {
		t.Fatalf("expired %d rooms before the retention period", n)
	}
	if n := ts.svc.ExpireIdleRooms(time.Now().Add(2 * time.Hour)); n != 1 {
		t.Fatalf("expired %d rooms, want c", n)
	}
	ts.join(t, "Dan", "d")
	// c's history went with it.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if rooms, err := ts.svc.broker.Rooms(ctx); err != nil || len(rooms) != 0 {
		t.Fatalf("rooms with history after c expired: %v, %v", rooms, err)
	}
}

func TestMaxRoomsPerIP(t *testing.T) {
	// Over bufconn every client has the same address.
	ts := startServer(t, Config{MaxRoomsPerIP: 1})
	alice := ts.join(t, "Alice", "a")
	err := refusal(t, ts, "Alice", "b")
	if code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "your address has created as many rooms as it may (1)") {
		t.Fatalf("second room from one address: %v", err)
	}
	bob := ts.join(t, "Bob", "a")
	alice.leave()
	if err := refusal(t, ts, "Alice", "b"); code(err) != codes.ResourceExhausted {
		t.Fatalf("second room while a still exists: %v", err)
	}
	bob.leave() // a had no history: it is gone, and b may be created
	ts.join(t, "Alice", "b")
}

// An idle room's history is in the broker only, read back when someone
// joins; after a restart the rooms with history count against MaxRooms.
func TestIdleRoomHistoryIsReadOnJoin(t *testing.T) {
	ts := startRestartable(t, t.TempDir(), Config{})
	var left []*client
	for _, room := range []string{"a", "b"} {
		c := ts.join(t, "Alice", room)
		c.say("hello " + room)
		c.leave()
		left = append(left, c)
	}
	ts2 := ts.restart(t, Config{MaxRooms: 2}, left...)
	if err := refusal(t, ts2.testServer, "Bob", "c"); code(err) != codes.ResourceExhausted {
		t.Fatalf("new room with two stored: %v", err)
	}
	bob := newClient(t, ts2.open(t, nil, chatwire.UserKey, "Bob", chatwire.RoomKey, "b"))
	bob.expect(kSys, "Welcome, Bob! You are in room b.")
	bob.expect(kStart, "")
	bob.expectText("Alice", "hello b")
	bob.expect(kEnd, "")
}
