package chat

import (
	"log/slog"
	"sync"
)

// idBlock is how many ids are reserved from the store at a time, so the store
// is written once per idBlock messages rather than once per message.
const idBlock = 1024

// idSource hands out increasing message ids, reserving them from the store in
// blocks so that ids keep increasing across restarts.
type idSource struct {
	store idReserver
	log   *slog.Logger

	mu          sync.Mutex
	next, limit uint64
}

// idReserver reserves blocks of ids: a history.Store, or the broker.
type idReserver interface {
	ReserveIDs(n uint64) (first uint64, err error)
}

// nextID returns a new id. Callers that need ids in delivery order within a
// room call it while holding the room lock.
func (s *idSource) nextID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.limit {
		first, err := s.store.ReserveIDs(idBlock)
		if err != nil {
			// Ids stay unique within this run; only the guarantee across a
			// restart is weakened.
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
