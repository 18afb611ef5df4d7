package chatclient

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// presenceFake is the scripted ChatService with ListMembers and ListRooms
// answering from fixed lists, recording the metadata of each call.
type presenceFake struct {
	*scripted
	mu      sync.Mutex
	members map[string][]string // by room
	rooms   []*chatpb.Room
	calls   []metadata.MD
}

func (p *presenceFake) ListMembers(ctx context.Context, req *chatpb.ListMembersRequest) (*chatpb.ListMembersResponse, error) {
	p.record(ctx)
	names := p.members[req.GetRoom()]
	resp := &chatpb.ListMembersResponse{Total: int32(len(names))}
	for i, n := range names {
		if i == 2 { // a page of two, to show paging
			resp.NextPageToken = "more"
			break
		}
		resp.Members = append(resp.Members, &chatpb.Member{Name: n})
	}
	return resp, nil
}

func (p *presenceFake) ListRooms(ctx context.Context, _ *chatpb.ListRoomsRequest) (*chatpb.ListRoomsResponse, error) {
	p.record(ctx)
	if p.rooms == nil {
		return nil, status.Error(codes.Unauthenticated, "sign in first: missing bearer token")
	}
	return &chatpb.ListRoomsResponse{Rooms: p.rooms, Total: int32(len(p.rooms))}, nil
}

func (p *presenceFake) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	p.mu.Lock()
	p.calls = append(p.calls, md)
	p.mu.Unlock()
}

// startPresence serves a presenceFake and returns a reconnecting Config
// that dials it.
func startPresence(t *testing.T) (Config, *presenceFake) {
	t.Helper()
	f := &presenceFake{scripted: &scripted{streams: make(chan *fakeStream, 10)}}
	cfg, _ := serveOnNetwork(t, f)
	return cfg, f
}

// typer types lines into a running session.
func typer(t *testing.T, inW *io.PipeWriter) func(string) {
	return func(line string) {
		t.Helper()
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func inRoom(room, user string, epoch string, id, seq uint64, text string) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{User: user, Message: text, Room: room, Kind: chatpb.ChatMessage_KIND_TEXT,
		Epoch: epoch, Id: id, Seq: seq, ClientMsgId: user + "-" + text}
}

// Commands that need nobody are answered locally and send nothing; "//"
// sends a line that starts with "/".
func TestLocalCommandsSendNothing(t *testing.T) {
	cfg, f, _ := startScripted(t)
	inW, out, done, s1 := joined(t, context.Background(), cfg, f)
	type_ := typer(t, inW)
	type_("/x")
	wantLine(t, out, "*** unknown command /x; /help lists them")
	type_("/join")
	wantLine(t, out, "*** usage: /join ROOM")
	type_("/msg Bob")
	wantLine(t, out, "*** usage: /msg NAME TEXT")
	type_("/\x1b[2J")
	wantLine(t, out, `*** unknown command /\x1b[2J; /help lists them`)
	type_("/help")
	wantLine(t, out, "*** Commands:")
	for _, line := range HelpLines[1:] {
		if got := out.next(t); got != Indent+line {
			t.Fatalf("help line %q, want %q", got, Indent+line)
		}
	}
	type_("//who")
	if m := s1.next(t); m.GetMessage() != "/who" || m.GetKind() != chatpb.ChatMessage_KIND_TEXT {
		t.Fatalf("sent %v, want the text /who and nothing before it", m)
	}
	type_("/QUIT")
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
	if m := s1.next(t); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Fatalf("then sent %v, want the leave", m)
	}
}

// /me sends an action, /msg a private message; the echo of one's own
// private message is shown, one's own action is not (as for text).
func TestActionAndPrivateMessage(t *testing.T) {
	cfg, f, _ := startScripted(t)
	inW, out, _, s1 := joined(t, context.Background(), cfg, f)
	type_ := typer(t, inW)
	type_("/me waves")
	act := s1.next(t)
	if act.GetKind() != chatpb.ChatMessage_KIND_ACTION || act.GetMessage() != "waves" || act.GetRecipient() != "" || act.GetClientMsgId() == "" {
		t.Fatalf("sent %v, want the action waves", act)
	}
	type_(`/msg "Bob Smith" psst`)
	priv := s1.next(t)
	if priv.GetKind() != chatpb.ChatMessage_KIND_PRIVATE || priv.GetMessage() != "psst" || priv.GetRecipient() != "Bob Smith" {
		t.Fatalf("sent %v, want a private message to Bob Smith", priv)
	}
	ownAction := &chatpb.ChatMessage{User: "Alice", Message: "* Alice waves", Room: "general", Kind: chatpb.ChatMessage_KIND_ACTION,
		Epoch: "E1", Id: 2, Seq: 1, ClientMsgId: act.GetClientMsgId()}
	echo := &chatpb.ChatMessage{User: "Alice", Message: "[private to Bob Smith] psst", Room: "general", Kind: chatpb.ChatMessage_KIND_PRIVATE,
		Recipient: "Bob Smith", Epoch: "E1", Id: 3, ClientMsgId: priv.GetClientMsgId()}
	from := &chatpb.ChatMessage{User: "Bob Smith", Message: "[private from Bob Smith] hi\nthere", Room: "general",
		Kind: chatpb.ChatMessage_KIND_PRIVATE, Recipient: "Alice", Epoch: "E1", Id: 4}
	s1.say(ownAction, echo, from)
	wantLine(t, out, "[private to Bob Smith] psst")
	wantLine(t, out, "[private from Bob Smith] hi")
	wantLine(t, out, Indent+"there")
}

// /who and /rooms ask the server over the chat's connection, with the
// session token, and show the first page and the total.
func TestWhoAndRooms(t *testing.T) {
	cfg, f := startPresence(t)
	cfg.Token = "tok-alice"
	f.members = map[string][]string{"general": {"Alice", "Bob", "Carol"}, "red": {"Dave"}}
	inW, out, _, _ := joined(t, context.Background(), cfg, f.scripted)
	type_ := typer(t, inW)
	type_("/who")
	wantLine(t, out, "*** 3 members in room general; the first 2: Alice, Bob")
	type_("/who red")
	wantLine(t, out, "*** 1 member in room red: Dave")
	type_("/who empty")
	wantLine(t, out, "*** Nobody is in room empty")
	type_("/rooms")
	wantLine(t, out, "*** Cannot list the rooms: sign in first: missing bearer token")
	f.mu.Lock()
	f.rooms = []*chatpb.Room{{Name: "general", MemberCount: 3}, {Name: "red\x1b", MemberCount: 1}}
	calls := f.calls
	f.mu.Unlock()
	type_("/rooms")
	wantLine(t, out, `*** 2 rooms: general (3), red\x1b (1)`)
	for _, md := range calls {
		if got := md1(md, chatwire.AuthorizationKey); got != "Bearer tok-alice" {
			t.Errorf("a presence call carried authorization %q", got)
		}
	}
}

// /join opens the new room first, then leaves the old one; the new room
// starts afresh (its history is shown though its seqs are lower than the
// old room's), and a reconnect resumes in the new room, never the old.
func TestJoinMovesAndResumesInTheNewRoom(t *testing.T) {
	cfg, f, n := startScripted(t)
	inW, out, done, s1 := joined(t, context.Background(), cfg, f)
	type_ := typer(t, inW)
	s1.say(inRoom("general", "Bob", "E1", 2, 7, "in general"))
	wantLine(t, out, "[Bob]: in general")

	type_("/join red")
	s2 := f.stream(t)
	if got := md1(s2.md, chatwire.RoomKey); got != "red" {
		t.Fatalf("the new stream asks for room %q", got)
	}
	for _, key := range []string{chatwire.ResumeTokenKey, chatwire.ResumeFromKey} {
		if got := md1(s2.md, key); got != "" {
			t.Errorf("the new room's stream sends %s = %q, want nothing", key, got)
		}
	}
	redWelcome := welcome("E1", 10, "tok-red")
	redWelcome.Room, redWelcome.Message = "red", "Welcome, Alice! You are in room red."
	s2.say(redWelcome)
	// Only once the new room welcomed it does the client leave the old one.
	if m := s1.next(t); m.GetKind() != chatpb.ChatMessage_KIND_LEAVE {
		t.Fatalf("sent %v in the old room, want the leave", m)
	}
	wantLine(t, out, "*** Welcome, Alice! You are in room red.")
	start := historyMark(chatpb.ChatMessage_KIND_HISTORY_START, "E1", 11)
	end := historyMark(chatpb.ChatMessage_KIND_HISTORY_END, "E1", 12)
	start.Message, start.Room, end.Room = "--- Recent messages in red ---", "red", "red"
	s2.say(start, inRoom("red", "Dave", "E1", 5, 1, "in red"), end)
	wantLine(t, out, "--- Recent messages in red ---")
	wantLine(t, out, "[Dave]: in red")
	wantLine(t, out, "--- End of history ---")

	type_("hello red")
	if m := s2.next(t); m.GetMessage() != "hello red" || m.GetRoom() != "red" {
		t.Fatalf("sent %v, want text for room red", m)
	}

	n.cut(false)
	wantLine(t, out, "*** Connection lost (connection closed); reconnecting...")
	s3 := f.stream(t)
	if got := md1(s3.md, chatwire.RoomKey) + " " + md1(s3.md, chatwire.ResumeTokenKey) + " " + md1(s3.md, chatwire.ResumeFromKey); got != "red tok-red E1:1" {
		t.Fatalf("reconnect asks for %q, want room red, its token and its last seq", got)
	}
	back := welcome("E1", 20, "tok-red")
	back.Room, back.Message, back.Resumed = "red", "Welcome back, Alice! You are in room red.", true
	s3.say(back, inRoom("red", "Dave", "E1", 21, 2, "while away"))
	wantLine(t, out, "*** Reconnected")
	wantLine(t, out, "*** Welcome back, Alice! You are in room red.")
	wantLine(t, out, "[Dave]: while away")

	type_("/join red")
	wantLine(t, out, "*** You are in room red already")
	_ = inW.Close()
	if err := wait(t, done, "Run to return"); err != nil {
		t.Fatal(err)
	}
}

// A room the server refuses leaves the user where they were.
func TestJoinRefusedStaysInTheRoom(t *testing.T) {
	cfg, f, _ := startScripted(t)
	inW, out, _, s1 := joined(t, context.Background(), cfg, f)
	type_ := typer(t, inW)
	type_("/join crowded")
	s2 := f.stream(t)
	s2.end <- status.Error(codes.ResourceExhausted, "the server has as many rooms as it allows (2); join an existing room or try again later")
	wantLine(t, out, "*** Cannot join crowded: the server has as many rooms as it allows (2); join an existing room or try again later")
	type_("/join caf\u00e9")
	wantLine(t, out, "*** Cannot join caf\u00e9: room names are printable ASCII")
	type_("still here")
	if m := s1.next(t); m.GetMessage() != "still here" {
		t.Fatalf("sent %v in the old room, want the text", m)
	}
}

// While disconnected, what is to be sent waits, and what needs the server
// is refused.
func TestCommandsWhileDisconnected(t *testing.T) {
	cfg, f, n := startScripted(t)
	inW, out, _, _ := joined(t, context.Background(), cfg, f)
	type_ := typer(t, inW)
	n.cut(true)
	wantLine(t, out, "*** Connection lost (connection closed); reconnecting...")
	type_("/who")
	wantLine(t, out, "*** Not connected; try /who again once reconnected")
	type_("/join red")
	wantLine(t, out, "*** Not connected; try /join again once reconnected")
	type_("/me waits")
	wantLine(t, out, "(pending) /me waits")
	type_("/nope")
	wantLine(t, out, "*** unknown command /nope; /help lists them")
	n.set(false, false)
	s2 := f.stream(t)
	if m := s2.next(t); m.GetKind() != chatpb.ChatMessage_KIND_ACTION || m.GetMessage() != "waits" {
		t.Fatalf("sent %v once back, want the action", m)
	}
	if strings.Contains(md1(s2.md, chatwire.RoomKey), "red") {
		t.Fatal("a /join refused while disconnected moved the session")
	}
}
