package chat

import "time"

// openRoomLocked creates room name for a member joining from ip (as
// limits.IP gives it), either from an idle room with kept history or, within
// MaxRooms and MaxRoomsPerIP, as a new one. s.mu must be held.
func (s *Service) openRoomLocked(name, ip string) (*room, error) {
	r := newRoom(name, s.cfg.QueueSize)
	if idle := s.idle[name]; idle != nil {
		delete(s.idle, name)
		r.creator = idle.creator
	} else {
		if err := s.roomRefusedLocked(name, ip); err != nil {
			return nil, err
		}
		r.creator = ip
		s.created[ip]++
	}
	s.rooms[name] = r
	s.metrics.RoomOpened()
	return r, nil
}

// roomRefusedLocked returns why room name, not open here, may not be
// opened for ip (nil if it may): it would be one room over MaxRooms or
// MaxRoomsPerIP. An idle room opens again within the limits. s.mu must be
// held.
func (s *Service) roomRefusedLocked(name, ip string) error {
	switch {
	case s.idle[name] != nil:
		return nil
	case s.cfg.MaxRooms > 0 && len(s.rooms)+len(s.idle) >= s.cfg.MaxRooms:
		s.metrics.RoomRefused(LimitMaxRooms)
		return s.errMaxRooms
	case s.cfg.MaxRoomsPerIP > 0 && s.created[ip] >= s.cfg.MaxRoomsPerIP:
		s.metrics.RoomRefused(LimitMaxRoomsPerIP)
		return s.errMaxRoomsPerIP
	}
	return nil
}

// closeRoomLocked retires r, whose last member left: it stays known as an
// idle room while it has kept history, and is forgotten otherwise. s.mu and
// r.mu must be held.
func (s *Service) closeRoomLocked(r *room) {
	delete(s.rooms, r.name)
	s.metrics.RoomClosed()
	if r.hasHistory() {
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
//
// The broker is asked with the service-wide lock released: a slow broker
// holds up the joins to the rooms being expired (lockRooms), not the
// others.
func (s *Service) ExpireIdleRooms(now time.Time) int {
	if s.cfg.RoomRetention <= 0 {
		return 0
	}
	type due struct {
		name string
		ir   *idleRoom
	}
	var expiring []due
	s.mu.Lock()
	for name, ir := range s.idle {
		if ir.expiring == nil && now.Sub(ir.since) >= s.cfg.RoomRetention {
			ir.expiring = make(chan struct{})
			expiring = append(expiring, due{name, ir})
		}
	}
	s.mu.Unlock()
	n := 0
	for _, d := range expiring {
		deleted, err := s.deleteHistory(d.name)
		s.mu.Lock()
		// Still idle: a join to the room waited for this.
		close(d.ir.expiring)
		d.ir.expiring = nil
		switch {
		case err != nil:
			s.log.Error("cannot delete an expired room's history", "room", d.name, "err", err)
		case !deleted:
			// In use on another node: idle here, but not unused.
			d.ir.since = now
			s.log.Debug("room idle here has members on another node; its history is kept", "room", d.name)
		default:
			delete(s.idle, d.name)
			s.forgetCreatorLocked(d.ir.creator)
			s.metrics.RoomExpired()
			s.log.Debug("room expired", "room", d.name, "idle_since", d.ir.since)
			n++
		}
		s.mu.Unlock()
	}
	if n > 0 {
		s.log.Info("expired idle rooms", "count", n, "retention", s.cfg.RoomRetention)
	}
	return n
}

// lockRooms locks s.mu to open room, once its history is not being
// deleted: a join must not open the room and show its history just before
// it goes. Only the joins to such a room wait.
func (s *Service) lockRooms(room string) {
	for {
		s.mu.Lock()
		ir := s.idle[room]
		if ir == nil || ir.expiring == nil {
			return
		}
		wait := ir.expiring
		s.mu.Unlock()
		<-wait
	}
}

// deleteHistory deletes the history of room, which has no member here,
// and the files offered in it, and reports whether it did: they are kept
// while another node has a member in the room (connected or in its grace
// period).
func (s *Service) deleteHistory(room string) (bool, error) {
	ctx, cancel := brokerCtx()
	defer cancel()
	ms, err := s.broker.RoomMembers(ctx, room)
	if err != nil || len(ms) > 0 {
		return false, err
	}
	if err := s.broker.DeleteHistory(ctx, room); err != nil {
		return true, err
	}
	s.deleteRoomFiles(room)
	return true, nil
}
