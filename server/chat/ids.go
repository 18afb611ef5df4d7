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
type idSource struct {
	broker *broker.Broker
	log    *slog.Logger

	mu          sync.Mutex
	next, limit uint64
}

// nextID returns a new id. Callers that need ids in delivery order within a
// room call it while holding the room lock.
func (s *idSource) nextID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.limit {
		ctx, cancel := brokerCtx()
		first, err := s.broker.Reserve(ctx, broker.MessageIDs, idBlock)
		cancel()
		if err != nil {
			// Ids go on increasing on this node; only their uniqueness
			// across nodes and restarts is weakened.
			s.log.Error("cannot reserve message ids", "err", err)
		} else if first > s.next {
			s.next = first
		}
		s.limit = s.next + idBlock
	}
	id := s.next
	s.next++
	return id
}
