package chatclient

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// moderate carries out a moderation command (/kick, /mute, /unmute, /ban,
// /unban, /op, /topic, /mods, /bans) in the session's room with the
// moderation RPCs over c's connection. What the room is told comes as a
// notice; the status line says only what the notice does not: a refusal,
// or that nothing changed.
func (s *session) moderate(ctx context.Context, c *conn, cmd Command) {
	s.mu.Lock()
	room := s.room
	s.mu.Unlock()
	callCtx, cancel := s.callContext(ctx)
	defer cancel()
	api := chatpb.NewChatServiceClient(c.cc)
	var (
		line string
		err  error
	)
	switch cmd.Kind {
	case CommandKick:
		_, err = api.Kick(callCtx, &chatpb.KickRequest{Room: room, User: cmd.Arg, Reason: cmd.Text})
	case CommandMute:
		_, err = api.Mute(callCtx, &chatpb.MuteRequest{Room: room, User: cmd.Arg, Reason: cmd.Text, Duration: seconds(cmd.Seconds)})
	case CommandUnmute:
		var resp *chatpb.UnmuteResponse
		if resp, err = api.Unmute(callCtx, &chatpb.UnmuteRequest{Room: room, User: cmd.Arg}); err == nil && !resp.GetWasMuted() {
			line = cmd.Arg + " is not muted in " + room
		}
	case CommandBan:
		req := &chatpb.BanRequest{Room: room, User: cmd.Arg, Reason: cmd.Text}
		if cmd.Seconds > 0 {
			req.Duration = seconds(cmd.Seconds)
		}
		_, err = api.Ban(callCtx, req)
	case CommandUnban:
		var resp *chatpb.UnbanResponse
		if resp, err = api.Unban(callCtx, &chatpb.UnbanRequest{Room: room, User: cmd.Arg}); err == nil && !resp.GetWasBanned() {
			line = cmd.Arg + " is not banned from " + room
		}
	case CommandOp:
		var resp *chatpb.OpResponse
		if resp, err = api.Op(callCtx, &chatpb.OpRequest{Room: room, User: cmd.Arg}); err == nil && !resp.GetGranted() {
			line = cmd.Arg + " already owns " + room
		}
	case CommandTopic:
		_, err = api.SetTopic(callCtx, &chatpb.SetTopicRequest{Room: room, Topic: cmd.Text})
	case CommandMods:
		var resp *chatpb.GetRolesResponse
		if resp, err = api.GetRoles(callCtx, &chatpb.GetRolesRequest{Room: room}); err == nil {
			line = rolesLine(room, resp)
		}
	case CommandBans:
		var resp *chatpb.ListBansResponse
		if resp, err = api.ListBans(callCtx, &chatpb.ListBansRequest{Room: room}); err == nil {
			line = bansLine(room, resp)
		}
	}
	if err != nil {
		s.status("Cannot " + moderationVerbs[cmd.Kind] + ": " + lostReason(err))
		return
	}
	if line != "" {
		s.status(textsafe.Sanitize(line))
	}
}

// moderationVerbs say what a moderation command could not do.
var moderationVerbs = map[CommandKind]string{
	CommandKick: "kick", CommandMute: "mute", CommandUnmute: "unmute", CommandBan: "ban", CommandUnban: "unban",
	CommandOp: "make an owner", CommandTopic: "set the topic", CommandMods: "list the moderators", CommandBans: "list the bans",
}

// seconds is n seconds as a protobuf duration.
func seconds(n int64) *durationpb.Duration { return durationpb.New(time.Duration(n) * time.Second) }

// rolesLine words an answer of GetRoles: "Admins: alice. Owners of
// general: bob, carol. You moderate general. Topic: release on Friday".
func rolesLine(room string, resp *chatpb.GetRolesResponse) string {
	if !resp.GetModeration() {
		return "This server has no moderators: it does not require sign-in"
	}
	parts := []string{"Admins: " + orNone(resp.GetAdmins()), "Owners of " + room + ": " + orNone(resp.GetOwners())}
	if resp.GetCanModerate() {
		parts = append(parts, "You moderate "+room)
	}
	if t := resp.GetTopic(); t != "" {
		parts = append(parts, "Topic: "+t)
	}
	return strings.Join(parts, ". ")
}

// orNone lists names, or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// bansLine words an answer of ListBans: "Banned from general: bob (by
// alice until 14:05: spam), carl (by alice)".
func bansLine(room string, resp *chatpb.ListBansResponse) string {
	if len(resp.GetBans()) == 0 {
		return "Nobody is banned from " + room
	}
	items := make([]string, len(resp.GetBans()))
	for i, b := range resp.GetBans() {
		about := "by " + b.GetBy()
		if b.GetUntil() != nil {
			about += " until " + b.GetUntil().AsTime().Local().Format("2006-01-02 15:04")
		}
		if b.GetReason() != "" {
			about += ": " + b.GetReason()
		}
		items[i] = b.GetUser() + " (" + about + ")"
	}
	return "Banned from " + room + ": " + strings.Join(items, ", ")
}
