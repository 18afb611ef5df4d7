package chatclient

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/metadata"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// callContext bounds a presence call by ConnectTimeout and ctx (leaving
// ends it at once), with the session token.
func (s *session) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	md := metadata.MD{}
	s.addToken(md)
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	return metadata.NewOutgoingContext(callCtx, md), cancel
}

// who shows the members of room, or of the session's room when room is "",
// asking the server over c's connection (ListMembers, its first page).
func (s *session) who(ctx context.Context, c *conn, room string) {
	if room == "" {
		s.mu.Lock()
		room = s.room
		s.mu.Unlock()
	}
	callCtx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := chatpb.NewChatServiceClient(c.cc).ListMembers(callCtx, &chatpb.ListMembersRequest{Room: room})
	if err != nil {
		s.status("Cannot list the members: " + lostReason(err))
		return
	}
	s.status(membersLine(room, resp))
}

// rooms shows the rooms with members, asking the server over c's
// connection (ListRooms, its first page).
func (s *session) rooms(ctx context.Context, c *conn) {
	callCtx, cancel := s.callContext(ctx)
	defer cancel()
	resp, err := chatpb.NewChatServiceClient(c.cc).ListRooms(callCtx, &chatpb.ListRoomsRequest{})
	if err != nil {
		s.status("Cannot list the rooms: " + lostReason(err))
		return
	}
	s.status(roomsLine(resp))
}

// membersLine words an answer of ListMembers for room: "3 members in room
// general: Alice, Bob, Carol", with "; the first 100:" when the answer is
// one page of several.
func membersLine(room string, resp *chatpb.ListMembersResponse) string {
	names := make([]string, len(resp.GetMembers()))
	for i, m := range resp.GetMembers() {
		names[i] = m.GetName()
	}
	where := "in room " + room
	if resp.GetTotal() == 0 {
		return textsafe.Sanitize("Nobody is " + where)
	}
	return textsafe.Sanitize(counted(int(resp.GetTotal()), "member", "members") + " " + where + listed(names, int(resp.GetTotal())))
}

// roomsLine words an answer of ListRooms: "2 rooms: general (3), red (1)".
func roomsLine(resp *chatpb.ListRoomsResponse) string {
	if resp.GetTotal() == 0 {
		return "No room has members"
	}
	rooms := make([]string, len(resp.GetRooms()))
	for i, r := range resp.GetRooms() {
		rooms[i] = fmt.Sprintf("%s (%d)", r.GetName(), r.GetMemberCount())
	}
	return textsafe.Sanitize(counted(int(resp.GetTotal()), "room", "rooms") + listed(rooms, int(resp.GetTotal())))
}

// counted is "1 member" or "3 members".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listed is ": a, b" for all of total, or "; the first 2: a, b" for a
// first page.
func listed(items []string, total int) string {
	if len(items) < total {
		return fmt.Sprintf("; the first %d: %s", len(items), strings.Join(items, ", "))
	}
	return ": " + strings.Join(items, ", ")
}
