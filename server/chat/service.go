// Package chat implements chat.ChatService: rooms of members that relay text
// to each other, with history replay, join/leave notices and per-member
// bounded queues so that one slow or misbehaving client never hurts another.
//
// The wire behaviour is specified in docs/chat-protocol.md.
package chat

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/filegrant"
	"github.com/polychat/polychat/server/moderation"
)

// SystemUser is the author of every notice; members cannot take the name.
const SystemUser = "system"

// defaultMaxFileBytes is Config.MaxFileBytes when unset.
const defaultMaxFileBytes = 100 << 20

// Config configures a Service. Zero fields take the defaults of package
// chatwire.
type Config struct {
	// MaxMessageBytes limits the text of one message.
	MaxMessageBytes int
	// MaxNameBytes limits member names and room names.
	MaxNameBytes int
	// QueueSize is how many messages may wait for one member before it is
	// disconnected as too slow.
	QueueSize int
	// Broker, required, is where the chat's rooms, history, names,
	// sessions and message ids live: NATS JetStream, embedded in this
	// process or shared with the other chat nodes of a cluster. The
	// Service does not close it.
	Broker *broker.Broker
	// History and HistoryBytes bound the texts each room keeps in memory
	// for joining members, as the broker's history does (History 0 keeps
	// none; HistoryBytes 0 sets no byte limit).
	History      int
	HistoryBytes int
	// Logger receives connection and message events. Nil means slog.Default().
	Logger *slog.Logger

	// Auth, when set, requires every stream to carry "authorization: Bearer
	// <token>" metadata that it accepts; the signed-in user's name is then
	// the member's name, and chat-user metadata and user fields are ignored.
	// Nil turns sign-in off.
	Auth Authenticator
	// Rate is how many messages per second a member may send on average,
	// and Burst how many at once; a member over it is disconnected with
	// RESOURCE_EXHAUSTED. Zero Rate means no limit; with a Rate, a Burst
	// below 1 is taken as 1.
	Rate  float64
	Burst int
	// Metrics receives the chat's events. Nil means none are recorded.
	Metrics Metrics

	// NoticeRate is how many join and leave notices a room sends per second
	// on average, and NoticeBurst how many at once; the notices over it are
	// summed up in one system notice a second later. Zero NoticeRate means
	// no limit.
	NoticeRate  float64
	NoticeBurst int
	// BigRoom is the room size, counting the members on every node, from
	// which join and leave notices are not sent one by one: each node sums
	// up its room's joins and leaves in one system notice per
	// BigRoomSummary instead, so a join costs the others nothing. Zero
	// BigRoom means every room is told of everyone (within NoticeRate);
	// a BigRoomSummary of zero or less means one second.
	BigRoom        int
	BigRoomSummary time.Duration
	// MaxRooms limits the rooms that exist at once: rooms with members and
	// rooms with kept history. A join that would create one more is refused
	// with RESOURCE_EXHAUSTED. Zero means no limit.
	MaxRooms int
	// MaxRoomsPerIP limits the existing rooms created by one IP address
	// (since the server started). Zero means no limit.
	MaxRoomsPerIP int
	// RoomRetention is how long an empty room keeps its history, counted
	// from when its last member left (after a restart, from its newest
	// message); ExpireIdleRooms deletes it after that. Zero keeps it.
	RoomRetention time.Duration
	// ResumeGrace is how long a member whose stream ended without a leave
	// keeps its name and may resume with the resume_token of its welcome;
	// the room is told it left only when the grace period ends. Zero turns
	// resuming off: a dropped member leaves at once and welcomes carry no
	// token.
	ResumeGrace time.Duration
	// Admins are the signed-in user names that moderate every room; they
	// need Auth.
	Admins []string
	// Moderation keeps bans, mutes, owners and topics; nil keeps them in
	// memory.
	Moderation moderation.Store
	// AuditNotify, when set, is called after each moderation action is
	// stored: it wakes the audit sender.
	AuditNotify func()

	// FileKey, when set, turns file sharing on: grants and receipts are
	// signed and checked with it, and ChatStream welcomes carry a
	// member_token for the file RPCs. Nil answers them FAILED_PRECONDITION.
	FileKey *filegrant.Key
	// MaxFileBytes limits one shared file (0: chatwire's default), and
	// FileQuotaBytes the bytes of all the files one user shares (0: no
	// limit).
	MaxFileBytes   int64
	FileQuotaBytes int64
	// FileRetention is how long a file is kept after it was offered,
	// shared or not; ExpireFiles deletes it after that, and a room's files
	// go with its history (RoomRetention) too. Zero keeps them.
	FileRetention time.Duration
}

// Service implements chatpb.ChatServiceServer. Register it on a grpc.Server
// created with CodecOption() so that broadcasts are marshalled only once.
type Service struct {
	chatpb.UnimplementedChatServiceServer

	cfg     Config
	log     *slog.Logger
	broker  *broker.Broker
	epoch   string // the broker's, set on every message sent
	ids     *counter
	metrics Metrics

	// errTooFast ends a member over the rate limit.
	errTooFast error
	// summaryDelay is how long held-back notices wait for their summary.
	summaryDelay time.Duration
	// paceMax is the longest a sender waits for its congested room.
	paceMax time.Duration
	// errMaxRooms and errMaxRoomsPerIP refuse a join that would create a
	// room over the limits.
	errMaxRooms, errMaxRoomsPerIP error

	// streams counts streams since start, for the logs; nums numbers
	// Client(N).
	streams atomic.Uint64
	nums    *counter

	mu      sync.Mutex           // guards the fields below; taken before any room.mu
	rooms   map[string]*room     // rooms with members
	idle    map[string]*idleRoom // rooms without members, with kept history
	created map[string]int       // existing rooms by the IP address that created them
	closing bool

	// dir is who is connected where, on every node.
	dir *directory

	// sessMu guards sessions and expired. It is taken after any other
	// lock and holds none while held.
	sessMu   sync.Mutex
	sessions map[string]*session // resumable sessions by id
	expired  *expiredSessions    // the last ids of sessions whose grace ended

	// joined are the members of Join streams, by their member token.
	joined memberships
	// gone are the members of Join streams in their grace period, by
	// member token: a Leave that arrives after its stream ended (a page
	// going away) tells the room at once instead of when the grace ends.
	gone memberships

	// moderation and roles: see moderation.go.
	moderation moderation.Store
	roles      *moderation.Roles
	// now is the clock moderation reads (when an action is taken, whether
	// a mute holds); tests move it.
	now func() time.Time
}

// idleRoom is a room nobody is in whose history is kept.
type idleRoom struct {
	creator string    // IP address; "" for rooms from before a restart
	since   time.Time // its last member left, or its newest message
	// expiring, while ExpireIdleRooms deletes the room's history, is
	// closed once it is done (nil otherwise); s.mu guards it.
	expiring chan struct{}
}

var _ chatpb.ChatServiceServer = (*Service)(nil)

// New returns a Service configured by cfg. It panics without cfg.Broker.
func New(cfg Config) *Service {
	if cfg.Broker == nil {
		panic("chat: Config.Broker is required")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = chatwire.MaxMessageBytes
	}
	if cfg.MaxNameBytes <= 0 {
		cfg.MaxNameBytes = chatwire.MaxNameBytes
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = chatwire.QueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.Rate < 0 {
		cfg.Rate = 0
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = defaultMaxFileBytes
	}
	if cfg.Rate > 0 && cfg.Burst < 1 {
		cfg.Burst = 1
	}
	if cfg.NoticeRate > 0 && cfg.NoticeBurst < 1 {
		cfg.NoticeBurst = 1
	}
	if cfg.BigRoomSummary <= 0 {
		cfg.BigRoomSummary = time.Second
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		broker:  cfg.Broker,
		metrics: cfg.Metrics,
		rooms:   make(map[string]*room),
		idle:    make(map[string]*idleRoom),
		created: make(map[string]int),
		epoch:   cfg.Broker.Epoch(),

		dir:          newDirectory(),
		sessions:     make(map[string]*session),
		expired:      newExpiredSessions(),
		summaryDelay: noticeSummaryDelay,
		moderation:   moderationStore(cfg),
		now:          time.Now,
		paceMax:      paceMax,
	}
	s.roles = moderation.NewRoles(cfg.Admins, s.moderation)
	s.watchModeration()
	s.errMaxRooms = status.Errorf(codes.ResourceExhausted,
		"the server has as many rooms as it allows (%d); join an existing room or try again later", cfg.MaxRooms)
	s.errMaxRoomsPerIP = status.Errorf(codes.ResourceExhausted,
		"your address has created as many rooms as it may (%d); join an existing room", cfg.MaxRoomsPerIP)
	ctx, cancel := brokerCtx()
	stored, err := s.broker.Rooms(ctx)
	cancel()
	if err != nil {
		s.log.Error("cannot list the rooms with history; they count against no limit", "err", err)
	} else {
		for name, newest := range stored {
			s.idle[name] = &idleRoom{since: newest}
		}
	}
	if cfg.Rate > 0 {
		unit := "messages"
		if cfg.Rate == 1 {
			unit = "message"
		}
		s.errTooFast = status.Errorf(codes.ResourceExhausted, "sending too fast: at most %s %s per second",
			strconv.FormatFloat(cfg.Rate, 'f', -1, 64), unit)
	}
	s.ids = newIDs(s.broker, cfg.Logger, idBlock)
	s.nums = newClientNumbers(s.broker, cfg.Logger, clientNumberBlock)
	if err := s.broker.WatchMembers(context.Background(), s.dir.apply); err != nil {
		s.log.Error("cannot watch the members of the other chat nodes; presence lists will fail", "err", err)
	}
	// Members of nodes that are gone (this one's previous run too) are
	// taken over here, so they may resume.
	if err := s.broker.Watch(context.Background(), s.takenOver, s.orphaned); err != nil {
		s.log.Error("cannot watch the other chat nodes; members of a node that dies keep their names", "err", err)
	}
	return s
}

// Shutdown tells every member "Server is shutting down" and ends each stream
// once that notice is sent; new streams are refused with UNAVAILABLE. It does
// not wait: grpc.Server.GracefulStop waits for the streams to end.
func (s *Service) Shutdown() {
	s.mu.Lock()
	s.closing = true
	rooms := make([]*room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()

	for _, r := range rooms {
		r.mu.Lock()
		if !r.closed {
			// The notice goes out now, not behind texts still on their way
			// through the broker: their echo would find the room closed and
			// never release it. What waits behind them goes first; the texts
			// themselves are in history once stored, for the resume.
			for _, h := range r.held {
				if h.ready && h.o != nil {
					s.deliverNowLocked(r, h.o, h.exclude, "")
				}
			}
			r.held = nil
			o := s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM, "Server is shutting down", nil)
			o.final = true
			s.deliverNowLocked(r, o, nil, "")
			r.closed = true
		}
		r.mu.Unlock()
	}
}

// newMessage builds and encodes a server message for room. It takes an id,
// so call it with the room lock held to keep ids in delivery order.
func (s *Service) newMessage(room, user string, kind chatpb.ChatMessage_Kind, text string, clientSentAt *timestamppb.Timestamp) *outgoing {
	return encode(s.message(room, user, kind, text, clientSentAt))
}

// message builds a server message for room, not yet encoded; like
// newMessage, it takes an id.
func (s *Service) message(room, user string, kind chatpb.ChatMessage_Kind, text string, clientSentAt *timestamppb.Timestamp) *chatpb.ChatMessage {
	now := time.Now()
	return &chatpb.ChatMessage{
		User:         user,
		Message:      text,
		Timestamp:    now.Unix(),
		Room:         room,
		Kind:         kind,
		Id:           s.ids.nextID(),
		SentAt:       timestamppb.New(now),
		ClientSentAt: clientSentAt,
		Epoch:        s.epoch,
	}
}

// encode wraps msg for sending, marshalling it once.
func encode(msg *chatpb.ChatMessage) *outgoing {
	data, err := proto.Marshal(msg)
	if err != nil {
		data = nil // the codec falls back to marshalling per send
	}
	return newOutgoing(msg, data)
}

// deliverLocked queues o to every member of r except exclude, in order:
// after the messages held until a text of this node's before them comes
// back from the broker, stored. A member whose queue is full is
// disconnected with RESOURCE_EXHAUSTED. r.mu must be held.
func (s *Service) deliverLocked(r *room, o *outgoing, exclude *member) {
	if len(r.held) > 0 {
		r.held = append(r.held, &heldMsg{o: o, exclude: exclude, ready: true})
		return
	}
	s.deliverNowLocked(r, o, exclude, "")
}

// deliverNowLocked queues o to every member of r except exclude (and except
// a later stream of exclude's session) and except the member of membership
// origin ("" for none), or only to the members o is for. r.mu must be
// held.
func (s *Service) deliverNowLocked(r *room, o *outgoing, exclude *member, origin string) {
	if o.to != nil {
		s.deliverToLocked(r, o)
		return
	}
	var slow []*member
	seq := o.GetSeq()
	for _, m := range r.members {
		if m == exclude || (exclude != nil && m.sess == exclude.sess) ||
			(origin != "" && m.sess.rec != nil && m.sess.rec.ID == origin) || (seq != 0 && seq <= m.after) {
			continue
		}
		if !m.push(o) {
			slow = append(slow, m)
		}
	}
	if seq > r.visibleSeq {
		r.visibleSeq = seq
	}
	s.disconnectSlowLocked(r, slow)
}

// disconnectSlowLocked disconnects the members of r whose queue was full.
// r.mu must be held.
func (s *Service) disconnectSlowLocked(r *room, slow []*member) {
	for _, m := range slow {
		if s.dropOrRemoveLocked(r, m) {
			s.metrics.SlowClientDropped()
			s.log.Warn("disconnecting slow client", "room", r.name, "user", m.name, "peer", m.peer, "queue", m.limit)
			m.end(errSlow)
		}
	}
}

// dropOrRemoveLocked takes m, whose stream ends without a leave, out of r:
// with resuming on, its name stays reserved for the grace period; otherwise
// it leaves at once. It reports whether m was still a member. r.mu must be
// held.
func (s *Service) dropOrRemoveLocked(r *room, m *member) bool {
	if s.cfg.ResumeGrace > 0 && m.sess != nil && m.sess.id != "" && !m.quit.Load() {
		return s.dropLocked(r, m)
	}
	return s.removeLocked(r, m)
}

// detachLocked takes m out of r's members, keeping its name. It reports
// whether m was still a member. r.mu must be held.
func (s *Service) detachLocked(r *room, m *member) bool {
	if m.left {
		return false
	}
	m.left = true
	m.uncount()
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
	return true
}

// removeLocked takes m out of r for good and tells the others it left. It
// reports whether m was still a member. r.mu must be held.
func (s *Service) removeLocked(r *room, m *member) bool {
	if !s.detachLocked(r, m) {
		return false
	}
	r.dropName(m)
	s.forgetSessionLocked(m)
	s.leftLocked(r, m)
	return true
}
