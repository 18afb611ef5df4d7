package chat

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/names"
)

// whisper delivers a private message from m to the member of m's room that
// in.Recipient names, and echoes it to m, both in order with the room's
// other messages. It is not kept in history: a member shown it once has it,
// and nobody else ever does. A name that is not a member connected to the
// room gets m a notice instead, not an error: people mistype names.
func (s *Service) whisper(m *member, in *chatpb.ChatMessage, log *slog.Logger) {
	if !s.admit(m, in, log) {
		return
	}
	r := m.room
	to, why := s.recipientLocked(r, in.GetRecipient())
	if to == nil {
		o := s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM, why+"; the private message was not sent", nil)
		o.to = []*session{m.sess}
		s.deliverLocked(r, o, nil)
		r.mu.Unlock()
		log.Info("private message not delivered", "room", r.name, "user", m.name, "reason", why)
		return
	}
	msg := s.message(r.name, m.name, chatpb.ChatMessage_KIND_PRIVATE,
		fmt.Sprintf("[private from %s] %s", m.name, in.GetMessage()), in.GetClientSentAt())
	msg.Recipient = to.name
	msg.ClientMsgId = in.GetClientMsgId()
	echo := proto.Clone(msg).(*chatpb.ChatMessage)
	echo.Message = fmt.Sprintf("[private to %s] %s", to.name, in.GetMessage())
	if to != m {
		o := encode(msg)
		o.to = []*session{to.sess}
		s.deliverLocked(r, o, nil)
	}
	e := encode(echo)
	e.to = []*session{m.sess}
	s.deliverLocked(r, e, nil)
	user, recipient := m.name, to.name
	r.mu.Unlock()
	if log.Enabled(context.Background(), slog.LevelInfo) {
		log.Info("private message", "room", r.name, "user", user, "to", recipient, "bytes", len(in.GetMessage()), "id", msg.GetId())
	}
}

// recipientLocked returns the connected member of r that name names
// (names that look alike count as the same, as everywhere in a room), or
// nil and why there is none, for the sender. r.mu must be held.
func (s *Service) recipientLocked(r *room, name string) (*member, string) {
	shown := clip(name)
	if len(name) > s.cfg.MaxNameBytes {
		return nil, fmt.Sprintf("Nobody named %q is in room %s", shown, r.name)
	}
	norm, err := names.Normalize(name)
	if err != nil {
		return nil, fmt.Sprintf("Nobody named %q is in room %s", shown, r.name)
	}
	m := r.names[names.Skeleton(norm)]
	switch {
	case m == nil:
		return nil, fmt.Sprintf("Nobody named %q is in room %s", shown, r.name)
	case m.dropped || m.left:
		return nil, fmt.Sprintf("%s is not connected right now", m.name)
	}
	return m, ""
}

// deliverToLocked queues o, a message for some members only, to the
// current stream of each of its sessions still in r. r.mu must be held.
func (s *Service) deliverToLocked(r *room, o *outgoing) {
	var slow []*member
	for _, sess := range o.to {
		m := sess.member
		if m == nil || m.left || m.room != r {
			continue
		}
		if !m.push(o) {
			slow = append(slow, m)
		}
	}
	s.disconnectSlowLocked(r, slow)
}
