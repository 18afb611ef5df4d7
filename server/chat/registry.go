package chat

import (
	"errors"
	"time"
)

// openRoomLocked creates room name for a member joining from ip (as
// limits.IP gives it), either from an idle room with kept history or, within
// MaxRooms and MaxRoomsPerIP, as a new one. s.mu must be held.
func (s *Service) openRoomLocked(name, ip string) (*room, error) {
	r := newRoom(name)
	if idle := s.idle[name]; idle != nil {
		delete(s.idle, name)
		r.creator = idle.creator
	} else {
		switch {
		case s.cfg.MaxRooms > 0 && len(s.rooms)+len(s.idle) >= s.cfg.MaxRooms:
			s.metrics.RoomRefused(LimitMaxRooms)
			return nil, s.errMaxRooms
		case s.cfg.MaxRoomsPerIP > 0 && s.created[ip] >= s.cfg.MaxRoomsPerIP:
			s.metrics.RoomRefused(LimitMaxRoomsPerIP)
			return nil, s.errMaxRoomsPerIP
		}
		r.creator = ip
		s.created[ip]++
	}
	s.rooms[name] = r
	s.metrics.RoomOpened()
	return r, nil
}

// loadLocked has the store load r's history, once per room. r.mu must be
// held; the first member of a room that was idle waits for its history to be
// read from disk here, the others for the room lock.
func (s *Service) loadLocked(r *room) error {
	if s.cluster != nil {
		return s.followLocked(r)
	}
	if r.loaded {
		return nil
	}
	// Marked loaded even on failure: the store counts the Load, and the
	// room goes on without history.
	r.loaded = true
	if err := s.store.Load(r.name); err != nil {
		s.log.Error("cannot read room history", "room", r.name, "err", err)
	}
	// What the store has from before the room opened was committed then,
	// or is about to be (an earlier opening's last messages).
	r.visibleSeq = max(r.visibleSeq, s.store.LastSeq(r.name))
	return nil
}

// closeRoomLocked retires r, whose last member left: it stays known as an
// idle room while it has kept history, and is forgotten otherwise. s.mu and
// r.mu must be held.
func (s *Service) closeRoomLocked(r *room) {
	delete(s.rooms, r.name)
	s.metrics.RoomClosed()
	if len(s.recent(r)) > 0 {
		s.idle[r.name] = &idleRoom{creator: r.creator, since: time.Now()}
		return
	}
	s.forgetCreatorLocked(r.creator)
}

// forgetCreatorLocked uncounts a room created from ip. s.mu must be held.
func (s *Service) forgetCreatorLocked(ip string) {
	if ip == "" {
		return
	}
	if s.created[ip]--; s.created[ip] <= 0 {
		delete(s.created, ip)
	}
}

// ExpireIdleRooms deletes the history of every room that has been empty for
// RoomRetention or longer at now, so that it no longer counts against the
// room limits, and returns how many it deleted. The server calls it
// periodically; it does nothing when RoomRetention is zero.
func (s *Service) ExpireIdleRooms(now time.Time) int {
	if s.cfg.RoomRetention <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, ir := range s.idle {
		if now.Sub(ir.since) < s.cfg.RoomRetention {
			continue
		}
		// Under s.mu, so that a join cannot reopen the room and read its
		// history before it is deleted.
		if err := s.deleteHistory(name); err != nil {
			s.log.Error("cannot delete an expired room's history", "room", name, "err", err)
			continue
		}
		delete(s.idle, name)
		s.forgetCreatorLocked(ir.creator)
		s.metrics.RoomExpired()
		s.log.Debug("room expired", "room", name, "idle_since", ir.since)
		n++
	}
	if n > 0 {
		s.log.Info("expired idle rooms", "count", n, "retention", s.cfg.RoomRetention)
	}
	return n
}

// deleteHistory deletes the history of room, which has no member here.
// With a cluster it is kept while any node has a member in the room.
func (s *Service) deleteHistory(room string) error {
	if s.cluster == nil {
		return s.store.Delete(room)
	}
	ctx, cancel := brokerCtx()
	defer cancel()
	ms, err := s.cluster.RoomMembers(ctx, room)
	if err != nil {
		return err
	}
	if len(ms) > 0 {
		return errors.New("the room has members on another node")
	}
	return s.cluster.DeleteHistory(ctx, room)
}
