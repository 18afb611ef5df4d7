package chat

import (
	"log/slog"
	"sync"

	"github.com/polychat/polychat/server/broker"
)

// idBlock is how many ids are reserved from the broker at a time, so its
// counter is written once per idBlock messages rather than once per message.
const idBlock = 1024

// idSource hands out increasing message ids, reserving them from the broker
// in blocks so that ids keep increasing across restarts and never collide
// between chat nodes.
//
// Ids are taken under room locks (a room's ids follow its delivery order),
// so the next block is reserved ahead, in the background, once the current
// one is three-quarters used: taking an id waits for the broker only when
// a quarter of a block goes by faster than the broker answers, or when
// reserving failed.
type idSource struct {
	broker *broker.Broker
	log    *slog.Logger
	block  uint64 // ids per reservation

	mu          sync.Mutex
	next, limit uint64
	// spare is the first id of the block reserved ahead (0: none yet).
	spare uint64
	// reserving is closed when the reservation in flight ends (nil: none
	// is).
	reserving chan struct{}
}

// newIDSource returns an idSource reserving blocks of block ids from b.
func newIDSource(b *broker.Broker, log *slog.Logger, block uint64) *idSource {
	return &idSource{broker: b, log: log, block: block}
}

// nextID returns a new id. Callers that need ids in delivery order within a
// room call it while holding the room lock.
func (s *idSource) nextID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.next >= s.limit {
		if s.spare != 0 {
			if s.spare > s.next {
				s.next = s.spare
			}
			s.limit, s.spare = s.next+s.block, 0
			break
		}
		if s.reserving == nil {
			s.reserveLocked()
		}
		done := s.reserving
		s.mu.Unlock()
		<-done
		s.mu.Lock()
		if s.spare == 0 && s.next >= s.limit {
			// Ids go on increasing on this node; only their uniqueness
			// across nodes and restarts is weakened until a reservation
			// succeeds again.
			s.limit = s.next + s.block
		}
	}
	id := s.next
	s.next++
	if s.spare == 0 && s.reserving == nil && s.limit-s.next <= s.block/4 {
		s.reserveLocked()
	}
	return id
}

// reserveLocked reserves the next block in the background, into spare.
// s.mu must be held.
func (s *idSource) reserveLocked() {
	done := make(chan struct{})
	s.reserving = done
	go func() {
		ctx, cancel := brokerCtx()
		first, err := s.broker.Reserve(ctx, broker.MessageIDs, s.block)
		cancel()
		if err != nil {
			s.log.Error("cannot reserve message ids", "err", err)
		}
		s.mu.Lock()
		if err == nil {
			s.spare = first
		}
		s.reserving = nil
		close(done)
		s.mu.Unlock()
	}()
}
