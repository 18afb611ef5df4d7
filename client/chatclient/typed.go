package chatclient

import (
	"context"
	"slices"
	"strings"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// outgoing builds the message that carries cmd, a text, an action or a
// private message, with a new client_msg_id.
func (s *session) outgoing(cmd Command) *chatpb.ChatMessage {
	msg := s.textMessage(cmd.Text)
	switch cmd.Kind {
	case CommandAction:
		msg.Kind = chatpb.ChatMessage_KIND_ACTION
	case CommandPrivate:
		msg.Kind = chatpb.ChatMessage_KIND_PRIVATE
		msg.Recipient = cmd.Arg
	}
	return msg
}

// local carries out a command that sends nothing into the room: /help,
// /who, /rooms, the moderation commands, and the reply to a command that cannot be carried out.
func (s *session) local(ctx context.Context, c *conn, cmd Command) {
	switch cmd.Kind {
	case CommandHelp:
		s.help()
	case CommandWho:
		s.who(ctx, c, cmd.Arg)
	case CommandRooms:
		s.rooms(ctx, c)
	case CommandKick, CommandMute, CommandUnmute, CommandBan, CommandUnban, CommandOp, CommandTopic, CommandMods, CommandBans:
		s.moderate(ctx, c, cmd)
	case CommandSend, CommandGet:
		s.transfer(ctx, c, cmd)
	case CommandInvalid:
		s.status(textsafe.Sanitize(cmd.Text))
	}
}

// offline handles line, typed while no stream is open: what is to be sent
// is queued, what needs the server is refused with a word why. It reports
// whether the user asked to leave.
func (s *session) offline(line string) (quit bool) {
	switch cmd := ParseCommand(line); cmd.Kind {
	case CommandQuit:
		return true
	case CommandText, CommandAction, CommandPrivate:
		s.hold(s.outgoing(cmd), line)
	case CommandJoin, CommandWho, CommandRooms,
		CommandKick, CommandMute, CommandUnmute, CommandBan, CommandUnban, CommandOp, CommandTopic, CommandMods, CommandBans:
		s.status("Not connected; try " + strings.Fields(line)[0] + " again once reconnected")
	default:
		s.local(context.Background(), nil, cmd)
	}
	return false
}

// help shows the commands: a heading, then one line each, indented.
func (s *session) help() {
	s.status(strings.Join(append(slices.Clone(HelpLines), FileHelpLines...), "\n"+Indent))
}
