package chat

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/names"
)

// whisper delivers a private message from m to the member of m's room that
// in.Recipient names, and echoes it to m, both in order with the room's
// other messages. It is not kept in history: a member shown it once has it,
// and nobody else ever does. A name that is not a member connected to the
// room gets m a notice instead, not an error: people mistype names. A
// recipient on another node gets it through the broker.
func (s *Service) whisper(m *member, in *chatpb.ChatMessage, log *slog.Logger) {
	if !s.admit(m, in, log) {
		return
	}
	r := m.room
	to, skel, why := s.recipientLocked(r, in.GetRecipient())
	var remote *broker.Member
	if to == nil && skel != "" {
		var ok bool
		if remote, why, ok = s.remoteRecipient(r, m, in, skel); !ok {
			return
		}
	}
	if to == nil && remote == nil {
		s.tellLocked(r, m, why+"; the private message was not sent")
		r.mu.Unlock()
		log.Info("private message not delivered", "room", r.name, "user", m.name, "reason", why)
		return
	}
	var recipient string
	if to != nil {
		recipient = to.name
	} else {
		recipient = remote.Name
	}
	msg := s.message(r.name, m.name, chatpb.ChatMessage_KIND_PRIVATE,
		fmt.Sprintf("[private from %s] %s", m.name, in.GetMessage()), in.GetClientSentAt())
	msg.Recipient = recipient
	msg.ClientMsgId = in.GetClientMsgId()
	echo := proto.Clone(msg).(*chatpb.ChatMessage)
	echo.Message = fmt.Sprintf("[private to %s] %s", recipient, in.GetMessage())
	switch {
	case remote != nil:
		s.publishPrivateLocked(r, m, msg, echo, remote.ID, log)
	default:
		if to != m {
			o := encode(msg)
			o.to = []*session{to.sess}
			s.deliverLocked(r, o, nil)
		}
		e := encode(echo)
		e.to = []*session{m.sess}
		s.deliverLocked(r, e, nil)
	}
	user := m.name
	r.mu.Unlock()
	if log.Enabled(context.Background(), slog.LevelInfo) {
		log.Info("private message", "room", r.name, "user", user, "to", recipient, "bytes", len(in.GetMessage()), "id", msg.GetId())
	}
}

// tellLocked queues a system notice with text to m alone, in order with
// r's other messages. r.mu must be held.
func (s *Service) tellLocked(r *room, m *member, text string) {
	o := s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM, text, nil)
	o.to = []*session{m.sess}
	s.deliverLocked(r, o, nil)
}

// recipientLocked returns the connected member of r on this node that name
// names (names that look alike count as the same, as everywhere in a
// room), or nil and why there is none, for the sender. When the name could
// be a member's but nobody here has it, skel is its skeleton, to look for
// on the other nodes. r.mu must be held.
func (s *Service) recipientLocked(r *room, name string) (to *member, skel, why string) {
	nobody := fmt.Sprintf("Nobody named %q is in room %s", clip(name), r.name)
	if len(name) > s.cfg.MaxNameBytes {
		return nil, "", nobody
	}
	norm, err := names.Normalize(name)
	if err != nil {
		return nil, "", nobody
	}
	skel = names.Skeleton(norm)
	m := r.names[skel]
	switch {
	case m == nil:
		return nil, skel, nobody
	case m.dropped || m.left:
		return nil, "", fmt.Sprintf("%s is not connected right now", m.name)
	}
	return m, "", ""
}

// remoteRecipient looks for the member of r with name skeleton skel on
// the other nodes, for m's private message in. r.mu must be held; it is
// released during the lookup, so that a slow broker holds up only the
// sender. It returns the member if it is connected, or why there is none;
// ok false means the message is not to be sent (m left meanwhile, or the
// broker failed and m's stream ends) and r.mu is released.
func (s *Service) remoteRecipient(r *room, m *member, in *chatpb.ChatMessage, skel string) (rec *broker.Member, why string, ok bool) {
	r.mu.Unlock()
	ctx, cancel := brokerCtx()
	rec, err := s.broker.Find(ctx, r.name, skel)
	cancel()
	r.mu.Lock()
	switch {
	case m.left || r.closed:
		r.mu.Unlock()
		return nil, "", false
	case err != nil:
		s.log.Error("cannot look up a private message's recipient in the broker", "room", r.name, "err", err)
		m.sess.seen.forget(in.GetClientMsgId()) // so that its resend goes out
		r.mu.Unlock()
		m.end(errBroker)
		return nil, "", false
	case rec == nil:
		return nil, fmt.Sprintf("Nobody named %q is in room %s", clip(in.GetRecipient()), r.name), true
	case !rec.Connected():
		return nil, fmt.Sprintf("%s is not connected right now", rec.Name), true
	}
	return rec, "", true
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
