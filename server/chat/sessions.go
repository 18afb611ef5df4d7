package chat

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/history"
)

// errReplaced ends the stream of a member whose session was resumed by a
// newer stream (the client reconnected before the server noticed the old
// connection was gone).
var errReplaced = status.Error(codes.Aborted, "this membership was resumed on a newer connection")

// sessionRecord is what the store keeps of m's session.
func sessionRecord(m *member, dropped time.Time) history.Session {
	return history.Session{
		ID: m.sess.id, Room: m.sess.room, Name: m.name, Named: m.named,
		User: m.sess.user, DroppedAt: dropped,
	}
}

// saveSession has the store keep m's session, so that m can resume after
// a restart too.
func (s *Service) saveSession(m *member, dropped time.Time) {
	if s.cluster != nil && m.sess != nil {
		s.saveMember(m, dropped)
		return
	}
	if m.sess == nil || m.sess.id == "" {
		return
	}
	if err := s.store.SaveSession(sessionRecord(m, dropped)); err != nil {
		s.log.Error("cannot save a member's session; it cannot resume after a restart", "room", m.sess.room, "err", err)
	}
}

// dropLocked takes m out of r's members but keeps its name reserved and its
// session resumable for the grace period, without telling the room; the
// room is told m left when the grace period ends without a resume. It
// reports whether m was still a member. r.mu must be held.
func (s *Service) dropLocked(r *room, m *member) bool {
	if !s.detachLocked(r, m) {
		return false
	}
	m.dropped = true
	r.reserved++
	s.metrics.MemberDropped()
	s.saveSession(m, time.Now())
	s.expireLater(m, s.cfg.ResumeGrace)
	return true
}

// expireLater ends m's grace period after d. r.mu must be held.
func (s *Service) expireLater(m *member, d time.Duration) {
	sess := m.sess
	sess.timer = time.AfterFunc(d, func() { s.expire(sess, m) })
}

// expire ends the grace period of m, dropped from sess: unless it was
// resumed meanwhile, its name is freed, its session forgotten and the room
// told it left.
func (s *Service) expire(sess *session, m *member) {
	s.mu.Lock()
	if s.closing {
		// The saved session expires by its drop time after a restart.
		s.mu.Unlock()
		return
	}
	r := m.room
	r.mu.Lock()
	if sess.member != m || !m.dropped {
		r.mu.Unlock()
		s.mu.Unlock()
		return
	}
	m.dropped = false
	r.reserved--
	r.dropName(m)
	s.forgetSessionLocked(m)
	s.sessMu.Lock()
	s.expired.add(sess, time.Now())
	s.sessMu.Unlock()
	s.metrics.GraceExpired()
	if !r.closed {
		s.noticeLocked(r, chatpb.ChatMessage_KIND_LEAVE, m.name+" left the room", nil)
	}
	unload := s.retireIfEmptyLocked(r)
	r.mu.Unlock()
	s.mu.Unlock()
	if unload {
		s.unload(r)
	}
}

// forgetSessionLocked forgets m's session, which can no longer be resumed,
// if m still holds it. m's room's mu must be held.
func (s *Service) forgetSessionLocked(m *member) {
	sess := m.sess
	if s.cluster != nil && sess != nil && sess.member == m {
		s.releaseMember(m)
	}
	if sess == nil || sess.id == "" || sess.member != m {
		return
	}
	if sess.timer != nil {
		sess.timer.Stop()
		sess.timer = nil
	}
	s.sessMu.Lock()
	delete(s.sessions, sess.id)
	s.sessMu.Unlock()
	if s.cluster != nil {
		return
	}
	if err := s.store.DeleteSession(sess.id); err != nil {
		s.log.Error("cannot delete a member's session", "room", sess.room, "err", err)
	}
}

// lookupSession returns the session with id, or nil.
func (s *Service) lookupSession(id string) *session {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	return s.sessions[id]
}

// addSession registers sess.
func (s *Service) addSession(sess *session) {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	s.sessions[sess.id] = sess
}

// restoreSessions takes over the sessions the store kept from the previous
// run: each member counts as dropped (when the server stopped, or earlier)
// and keeps its name for what is left of its grace period, at least a full
// one from now if it was connected when the server stopped.
func (s *Service) restoreSessions() {
	stored, err := s.store.Sessions()
	if err != nil {
		s.log.Error("cannot read the saved sessions; members cannot resume across this restart", "err", err)
		return
	}
	now := time.Now()
	restored := 0
	for _, rec := range stored {
		expires := now.Add(s.cfg.ResumeGrace)
		if !rec.DroppedAt.IsZero() {
			expires = rec.DroppedAt.Add(s.cfg.ResumeGrace)
		}
		if s.cfg.ResumeGrace <= 0 || !expires.After(now) {
			if err := s.store.DeleteSession(rec.ID); err != nil {
				s.log.Error("cannot delete a member's session", "room", rec.Room, "err", err)
			}
			continue
		}
		r := s.rooms[rec.Room]
		if r == nil {
			r = newRoom(rec.Room)
			if idle := s.idle[rec.Room]; idle != nil {
				delete(s.idle, rec.Room)
				r.creator = idle.creator
			}
			s.rooms[rec.Room] = r
			s.metrics.RoomOpened()
			// Loaded like any open room, so that closing it later finds
			// its history and keeps it as an idle room.
			s.loadLocked(r)
		}
		if r.taken(rec.Name) {
			// Only a database edited by hand has two sessions with one name.
			if err := s.store.DeleteSession(rec.ID); err != nil {
				s.log.Error("cannot delete a member's session", "room", rec.Room, "err", err)
			}
			continue
		}
		sess := &session{id: rec.ID, room: rec.Room, user: rec.User}
		m := newMember(0, "", r, s.cfg.QueueSize)
		m.sess, m.name, m.named = sess, rec.Name, rec.Named
		m.left, m.dropped = true, true
		sess.member = m
		r.addName(m)
		r.reserved++
		s.addSession(sess)
		s.expireLater(m, expires.Sub(now))
		restored++
	}
	if restored > 0 {
		s.log.Info("members may resume after the restart", "sessions", restored, "grace", s.cfg.ResumeGrace)
	}
}

// retireIfEmptyLocked closes r if nobody is in it and no dropped member
// keeps a name in it, and reports whether the caller must then Unload its
// history (after releasing the locks). s.mu and r.mu must be held.
func (s *Service) retireIfEmptyLocked(r *room) (unload bool) {
	if len(r.members) > 0 || r.reserved > 0 || s.rooms[r.name] != r {
		return false
	}
	unload = r.loaded
	s.closeRoomLocked(r)
	return unload
}
