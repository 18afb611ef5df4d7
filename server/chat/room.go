package chat

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// room is a set of members that see each other's messages.
type room struct {
	name string

	// mu is held while a message is given an id, stored and queued to every
	// member, and while a member joins, so that history and live traffic
	// neither overlap nor leave a gap. Nothing under mu blocks: queues are
	// non-blocking and sends happen on each member's writer.
	mu      sync.Mutex
	members []*member
	names   map[string]*member
	closed  bool // the shutdown notice was sent
}

func newRoom(name string) *room {
	return &room{name: name, names: make(map[string]*member)}
}

// taken reports whether a member may not take name: it is in use in this
// room, or it is the reserved name of the server (in any letter case, so
// nobody can pose as "System").
func (r *room) taken(name string) bool {
	return strings.EqualFold(name, SystemUser) || r.names[name] != nil
}

// distinct returns want, or want(2), want(3)... whichever is free first.
func (r *room) distinct(want string) string {
	if !r.taken(want) {
		return want
	}
	for i := 2; ; i++ {
		if c := fmt.Sprintf("%s(%d)", want, i); !r.taken(c) {
			return c
		}
	}
}

// newMessage builds and encodes a server message for room. It takes an id,
// so call it with the room lock held to keep ids in delivery order.
func (s *Service) newMessage(room, user string, kind chatpb.ChatMessage_Kind, text string, clientSentAt *timestamppb.Timestamp) *outgoing {
	now := time.Now()
	return encode(&chatpb.ChatMessage{
		User:         user,
		Message:      text,
		Timestamp:    now.Unix(),
		Room:         room,
		Kind:         kind,
		Id:           s.ids.nextID(),
		SentAt:       timestamppb.New(now),
		ClientSentAt: clientSentAt,
	})
}

// encode wraps msg for sending, marshalling it once.
func encode(msg *chatpb.ChatMessage) *outgoing {
	data, err := proto.Marshal(msg)
	if err != nil {
		data = nil // the codec falls back to marshalling per send
	}
	return newOutgoing(msg, data)
}

// deliverLocked queues o to every member of r except exclude. A member whose
// queue is full is disconnected with RESOURCE_EXHAUSTED and the rest of the
// room is told it left. r.mu must be held.
func (s *Service) deliverLocked(r *room, o *outgoing, exclude *member) {
	var slow []*member
	for _, m := range r.members {
		if m == exclude {
			continue
		}
		if !m.push(o) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		if s.removeLocked(r, m) {
			s.metrics.SlowClientDropped()
			s.log.Warn("disconnecting slow client", "room", r.name, "user", m.name, "peer", m.peer, "queue", m.limit)
			m.end(errSlow)
		}
	}
}

// removeLocked takes m out of r and tells the others it left. It reports
// whether m was still a member. r.mu must be held.
func (s *Service) removeLocked(r *room, m *member) bool {
	if m.left {
		return false
	}
	m.left = true
	s.metrics.ClientLeft()
	for i, x := range r.members {
		if x == m {
			last := len(r.members) - 1
			r.members[i] = r.members[last]
			r.members[last] = nil
			r.members = r.members[:last]
			break
		}
	}
	delete(r.names, m.name)
	if !r.closed {
		s.deliverLocked(r, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_LEAVE, m.name+" left the room", nil), nil)
	}
	return true
}
