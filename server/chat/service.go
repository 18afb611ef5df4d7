// Package chat implements chat.ChatService: rooms of members that relay text
// to each other, with history replay, join/leave notices and per-member
// bounded queues so that one slow or misbehaving client never hurts another.
//
// The wire behaviour is specified in docs/chat-protocol.md.
package chat

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/history"
)

// Defaults used for zero Config fields, and the room of a client that names
// none.
const (
	// DefaultMaxMessageBytes is the default limit on a message's text.
	DefaultMaxMessageBytes = 4096
	// DefaultMaxNameBytes is the default limit on names and rooms.
	DefaultMaxNameBytes = 64
	// DefaultQueueSize is the default number of messages queued per member.
	DefaultQueueSize = 256
	// DefaultRoom is the room of a stream that does not ask for one.
	DefaultRoom = "general"
)

// SystemUser is the author of every notice; members cannot take the name.
const SystemUser = "system"

// Config configures a Service. Zero fields take the defaults above.
type Config struct {
	// MaxMessageBytes limits the text of one message.
	MaxMessageBytes int
	// MaxNameBytes limits member names and room names.
	MaxNameBytes int
	// QueueSize is how many messages may wait for one member before it is
	// disconnected as too slow.
	QueueSize int
	// Store keeps room history and hands out message ids. Nil means an
	// in-memory store keeping 50 messages per room. The Service does not
	// close it.
	Store history.Store
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
}

// Service implements chatpb.ChatServiceServer. Register it on a grpc.Server
// created with CodecOption() so that broadcasts are marshalled only once.
type Service struct {
	chatpb.UnimplementedChatServiceServer

	cfg     Config
	log     *slog.Logger
	store   history.Store
	ids     idSource
	metrics Metrics

	// errTooFast ends a member over the rate limit.
	errTooFast error

	// streams counts streams since start; it numbers Client(N).
	streams atomic.Uint64

	mu      sync.Mutex // guards rooms and closing; taken before any room.mu
	rooms   map[string]*room
	closing bool
}

var _ chatpb.ChatServiceServer = (*Service)(nil)

// New returns a Service configured by cfg.
func New(cfg Config) *Service {
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxNameBytes <= 0 {
		cfg.MaxNameBytes = DefaultMaxNameBytes
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Store == nil {
		cfg.Store = history.NewMemory(50)
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
	if cfg.Rate > 0 && cfg.Burst < 1 {
		cfg.Burst = 1
	}
	s := &Service{
		cfg:     cfg,
		log:     cfg.Logger,
		store:   cfg.Store,
		metrics: cfg.Metrics,
		rooms:   make(map[string]*room),
	}
	if cfg.Rate > 0 {
		unit := "messages"
		if cfg.Rate == 1 {
			unit = "message"
		}
		s.errTooFast = status.Errorf(codes.ResourceExhausted, "sending too fast: at most %s %s per second",
			strconv.FormatFloat(cfg.Rate, 'f', -1, 64), unit)
	}
	s.ids = idSource{store: cfg.Store, log: cfg.Logger}
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
			o := s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM, "Server is shutting down", nil)
			o.final = true
			s.deliverLocked(r, o, nil)
			r.closed = true
		}
		r.mu.Unlock()
	}
}
