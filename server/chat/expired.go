package chat

import (
	"container/list"
	"time"
)

// After its grace period a dropped member's session is gone, and a client
// that comes back later joins as a new member. It still resends the lines
// it sent just before the connection was lost (the server sends no
// receipts), with their client_msg_ids; without the old membership's
// memory of ids, the ones that had arrived would be relayed twice. So the
// ids of an expired session are kept a while longer, and a client that
// presents the expired session's resume token starts its new membership
// with them. Only the holder of the token can claim them.
const (
	// expiredIDsKept is how many of an expired session's last ids are
	// kept: a client resends at most 256 lines.
	expiredIDsKept = 256
	// expiredSessionsKept bounds how many expired sessions are remembered.
	expiredSessionsKept = 1024
	// expiredSessionTTL is how long an expired session's ids are kept.
	expiredSessionTTL = 10 * time.Minute
)

// expiredSession is what is kept of a session whose grace period ended.
type expiredSession struct {
	id   string // the session id (hash of its resume token)
	room string
	user string
	at   time.Time
	ids  []string // its last client_msg_ids, oldest first
}

// expiredSessions remembers the last expired sessions' ids, oldest first.
// It is not safe for concurrent use: Service.sessMu guards it.
type expiredSessions struct {
	order *list.List               // of *expiredSession, oldest first
	byID  map[string]*list.Element // by session id
}

func newExpiredSessions() *expiredSessions {
	return &expiredSessions{order: list.New(), byID: make(map[string]*list.Element)}
}

// add keeps the last ids of sess, which expired at now.
func (e *expiredSessions) add(sess *session, now time.Time) {
	if sess.id == "" || sess.seen == nil || len(sess.seen.ring) == 0 {
		return
	}
	e.expire(now)
	for e.order.Len() >= expiredSessionsKept {
		e.remove(e.order.Front())
	}
	x := &expiredSession{id: sess.id, room: sess.room, user: sess.user, at: now, ids: sess.seen.last(expiredIDsKept)}
	e.byID[sess.id] = e.order.PushBack(x)
}

// take returns and forgets the ids kept for session id, if it expired in
// room, for user, less than expiredSessionTTL before now.
func (e *expiredSessions) take(id, room, user string, now time.Time) []string {
	e.expire(now)
	el := e.byID[id]
	if el == nil {
		return nil
	}
	x := el.Value.(*expiredSession)
	if x.room != room || x.user != user {
		return nil
	}
	e.remove(el)
	return x.ids
}

// expire forgets the sessions kept longer than expiredSessionTTL.
func (e *expiredSessions) expire(now time.Time) {
	for el := e.order.Front(); el != nil && now.Sub(el.Value.(*expiredSession).at) >= expiredSessionTTL; el = e.order.Front() {
		e.remove(el)
	}
}

func (e *expiredSessions) remove(el *list.Element) {
	delete(e.byID, el.Value.(*expiredSession).id)
	e.order.Remove(el)
}
