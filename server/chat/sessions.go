package chat

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errReplaced ends the stream of a member whose session was resumed by a
// newer stream (the client reconnected before the server noticed the old
// connection was gone).
var errReplaced = status.Error(codes.Aborted, "this membership was resumed on a newer connection")

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
	if m.memberToken != "" {
		// Its Leave still finds it, to end the grace period.
		s.gone.add(m.memberToken, m)
	}
	s.metrics.MemberDropped()
	m.settled = s.saveSessionLocked(r, m, time.Now())
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
	s.gone.remove(m.memberToken, m)
	r.dropName(m)
	s.forgetSessionLocked(m)
	s.sessMu.Lock()
	s.expired.add(sess, time.Now())
	s.sessMu.Unlock()
	s.metrics.GraceExpired()
	s.leftLocked(r, m)
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
	if sess != nil && sess.member == m {
		s.releaseMemberLocked(m.room, m)
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

// retireIfEmptyLocked closes r if nobody is in it and no dropped member
// keeps a name in it, and reports whether the caller must then unload it
// (after releasing the locks). s.mu and r.mu must be held.
func (s *Service) retireIfEmptyLocked(r *room) (unload bool) {
	if len(r.members) > 0 || r.reserved > 0 || s.rooms[r.name] != r {
		return false
	}
	unload = r.link != nil
	s.closeRoomLocked(r)
	return unload
}
