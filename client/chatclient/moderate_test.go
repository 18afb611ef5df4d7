package chatclient

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// moderationFake is the scripted ChatService with the moderation RPCs,
// handing each request it gets to reqs.
type moderationFake struct {
	*scripted
	reqs chan any
}

func (f *moderationFake) Kick(_ context.Context, req *chatpb.KickRequest) (*chatpb.KickResponse, error) {
	f.reqs <- req
	if req.GetUser() == "Root" {
		return nil, status.Error(codes.PermissionDenied, "Root is an admin of this server: nobody may kick them")
	}
	return &chatpb.KickResponse{Memberships: 1}, nil
}

func (f *moderationFake) Mute(_ context.Context, req *chatpb.MuteRequest) (*chatpb.MuteResponse, error) {
	f.reqs <- req
	return &chatpb.MuteResponse{}, nil
}

func (f *moderationFake) Ban(_ context.Context, req *chatpb.BanRequest) (*chatpb.BanResponse, error) {
	f.reqs <- req
	return &chatpb.BanResponse{}, nil
}

func (f *moderationFake) Unban(_ context.Context, req *chatpb.UnbanRequest) (*chatpb.UnbanResponse, error) {
	f.reqs <- req
	return &chatpb.UnbanResponse{WasBanned: false}, nil
}

func (f *moderationFake) GetRoles(_ context.Context, req *chatpb.GetRolesRequest) (*chatpb.GetRolesResponse, error) {
	f.reqs <- req
	return &chatpb.GetRolesResponse{Moderation: true, Admins: []string{"Root"}, Owners: []string{"Alice"}, CanModerate: true, Topic: "release"}, nil
}

func (f *moderationFake) ListBans(_ context.Context, req *chatpb.ListBansRequest) (*chatpb.ListBansResponse, error) {
	f.reqs <- req
	return &chatpb.ListBansResponse{Bans: []*chatpb.RoomBan{{User: "Bob", By: "Alice", Reason: "spam"}}}, nil
}

// The moderation commands call the RPCs for the session's room; the
// status line shows a refusal, what did not change, and the answers of
// /mods and /bans. A refused line of one's own is shown.
func TestModerationCommands(t *testing.T) {
	f := &moderationFake{scripted: &scripted{streams: make(chan *fakeStream, 10)}, reqs: make(chan any, 10)}
	cfg, _ := serveOnNetwork(t, f)
	inW, out, _, s1 := joined(t, context.Background(), cfg, f.scripted)
	type_ := typer(t, inW)
	next := func() any {
		t.Helper()
		select {
		case r := <-f.reqs:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("no request")
		}
		return nil
	}

	type_(`/kick "Bob Smith" too loud`)
	if r, ok := next().(*chatpb.KickRequest); !ok || r.GetUser() != "Bob Smith" || r.GetReason() != "too loud" || r.GetRoom() != "general" {
		t.Fatalf("/kick sent %v", r)
	}
	type_("/kick Root")
	next()
	wantLine(t, out, "*** Cannot kick: Root is an admin of this server: nobody may kick them")
	type_("/mute Bob 1h30m spam")
	if r, ok := next().(*chatpb.MuteRequest); !ok || r.GetDuration().AsDuration() != 90*time.Minute || r.GetReason() != "spam" {
		t.Fatalf("/mute sent %v", r)
	}
	type_("/ban Bob spam")
	if r, ok := next().(*chatpb.BanRequest); !ok || r.GetDuration() != nil || r.GetReason() != "spam" {
		t.Fatalf("/ban sent %v", r)
	}
	type_("/unban Bob")
	next()
	wantLine(t, out, "*** Bob is not banned from general")
	type_("/mods")
	next()
	wantLine(t, out, "*** Admins: Root. Owners of general: Alice. You moderate general. Topic: release")
	type_("/bans")
	next()
	wantLine(t, out, "*** Banned from general: Bob (by Alice: spam)")
	type_("/mute Bob")
	wantLine(t, out, "*** usage: /mute NAME TIME [WHY], TIME like 10m, 1h30m or 2d")

	type_("hello?")
	sent := s1.next(t)
	s1.say(&chatpb.ChatMessage{User: "system", Room: "general", Kind: chatpb.ChatMessage_KIND_REFUSED, Epoch: "E1", Id: 9,
		ClientMsgId: sent.GetClientMsgId(), Message: "Not sent: you are muted in general until 2030-01-02 14:05:00 UTC",
		Refusal: &chatpb.Refusal{Reason: chatpb.Refusal_REASON_MUTED, Until: timestamppb.Now()}})
	wantLine(t, out, "*** Not sent: you are muted in general until 2030-01-02 14:05:00 UTC")
	s1.say(&chatpb.ChatMessage{User: "system", Room: "general", Kind: chatpb.ChatMessage_KIND_MODERATION, Epoch: "E1", Id: 10,
		Message: "Alice muted Bob for 1h30m: spam"})
	wantLine(t, out, "*** Alice muted Bob for 1h30m: spam")
}
