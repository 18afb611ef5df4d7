package chat

import (
	"sync"
	"sync/atomic"
	"time"
)

// This file slows a room's senders when its members fall behind together.
//
// A member whose queue is half full is behind; it has caught up once its
// queue is down to a quarter. When more than a fiftieth of a room's
// members (two at least) are behind at once, the room is congested: the
// server (or the network it shares), not one client, is what cannot keep
// up, and disconnecting every receiver would help nobody. (Not most of
// them: a server short of CPU serves its connections unevenly, and the
// members of the connections it serves last fall behind first, a
// connection's streams together: fifty of a thousand, or half the room.) Its senders then wait before each text until the room
// has caught up: their streams are not read meanwhile, so gRPC's flow
// control holds back their clients. A member behind then may hold twice
// its limit until it has caught up, since what was on its way when the
// room caught up still reaches the slower half of the room. A member that
// falls behind while the room keeps up still fills its queue and is
// disconnected with RESOURCE_EXHAUSTED, as before.
//
// What is on its way through the broker is not in any queue yet, so a
// room also has a budget of texts in flight (a quarter of the queue
// limit): a sender waits while the room's texts sent from this node and
// not yet back from the broker use it up. Whatever was in flight when the
// room fell behind then fits in the half of the queues that was left.
//
// A sender waits at most paceMax per text. A member still behind
// stuckAfter (twice paceMax) after it fell behind, while its room was
// congested, has stopped reading or reads far slower than the room: it is
// hopeless, counts as behind no more and may hold its limit only, so the
// room goes on and its queue fills and it is disconnected. Members that
// stopped reading slow their room for a couple of seconds, but cannot stop
// it.

// paceMax is the longest a sender waits for its congested room per text
// (Service.paceMax, which tests change).
const paceMax = time.Second

// pacer tracks how many of a room's members are behind.
type pacer struct {
	behind  atomic.Int64 // members behind
	members atomic.Int64 // members counted: those in room.members
	// inFlight counts the room's texts sent from this node to the broker
	// and not yet back (or failed); budget is the most there may be
	// before senders wait.
	inFlight atomic.Int64
	budget   int64

	mu sync.Mutex
	// clear is closed when the room stops being congested; nil while no
	// sender waits.
	clear chan struct{}
}

// congested reports whether more than a fiftieth of the room's members, and
// two at least, are behind.
func (p *pacer) congested() bool {
	b := p.behind.Load()
	return b >= 2 && 50*b > p.members.Load()
}

// blocked reports whether a sender must wait: the room is congested or
// its texts in flight use up its budget.
func (p *pacer) blocked() bool {
	return p.congested() || p.inFlight.Load() >= p.budget
}

// waitChan returns a channel closed once a sender need no longer wait, or
// nil if it need not, and whether the room is congested.
func (p *pacer) waitChan() (clear chan struct{}, congested bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.blocked() {
		return nil, false
	}
	if p.clear == nil {
		p.clear = make(chan struct{})
	}
	return p.clear, p.congested()
}

// update wakes the waiting senders if they need no longer wait. Called
// after every change of the counts that may end the wait.
func (p *pacer) update() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clear != nil && !p.blocked() {
		close(p.clear)
		p.clear = nil
	}
}

// pace holds m, about to send to its room, while the room is congested or
// its texts in flight use up its budget: until that ends, m's stream ends,
// or s.paceMax has passed.
func (s *Service) pace(m *member) {
	p := &m.room.pace
	var deadline <-chan time.Time
	counted := false
	for {
		clear, congested := p.waitChan()
		if clear == nil {
			return
		}
		if congested && !counted {
			// Not the budget alone: that is a window, not overload.
			s.metrics.SenderPaced()
			counted = true
		}
		if deadline == nil {
			t := time.NewTimer(s.paceMax)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-clear:
		case <-m.ended:
			return
		case <-deadline:
			s.giveUpOnStuck(m.room, 2*s.paceMax)
			return
		}
	}
}

// giveUpOnStuck marks hopeless the members of r behind for longer than
// stuckAfter (see hopeless), and lets r's senders go on if r is congested
// no more.
func (s *Service) giveUpOnStuck(r *room, stuckAfter time.Duration) {
	now := time.Now()
	r.mu.Lock()
	for _, m := range r.members {
		m.mu.Lock()
		if m.behind && now.Sub(m.behindSince) >= stuckAfter {
			m.behind, m.spared, m.hopeless = false, false, true
			r.pace.behind.Add(-1)
		}
		m.mu.Unlock()
	}
	r.mu.Unlock()
	r.pace.update()
}

// count starts counting m among its room's members for pacing. m joined
// the room's members; r.mu must be held.
func (m *member) count() {
	m.mu.Lock()
	m.counted = true
	m.mu.Unlock()
	m.room.pace.members.Add(1)
}

// uncount stops counting m, which left its room's members; r.mu must be
// held.
func (m *member) uncount() {
	p := &m.room.pace
	m.mu.Lock()
	counted, behind := m.counted, m.behind
	m.counted, m.behind, m.spared, m.hopeless = false, false, false, false
	m.mu.Unlock()
	if !counted {
		return
	}
	if behind {
		p.behind.Add(-1)
	}
	p.members.Add(-1)
	p.update()
}

// behindAt and caughtUpAt are the queue lengths at which a member falls
// behind and catches up again.
func (m *member) behindAt() int   { return max(1, m.limit/2) }
func (m *member) caughtUpAt() int { return m.limit / 4 }

// roomLimit is the most messages m's queue may hold now: its limit, or
// twice that while its room is congested and, if m was behind then, until
// m has caught up. m.mu must be held.
func (m *member) roomLimit() int {
	if m.hopeless {
		return m.limit
	}
	if m.spared {
		return 2 * m.limit
	}
	if m.room.pace.congested() {
		m.spared = m.behind
		return 2 * m.limit
	}
	return m.limit
}

// markLocked updates whether m is behind after its queue changed. m.mu
// must be held; it reports whether the caller must call
// m.room.pace.update after releasing it.
func (m *member) markLocked() (update bool) {
	if !m.counted {
		return false
	}
	n := m.queue.Len()
	switch {
	case m.hopeless:
		m.hopeless = n > m.caughtUpAt() // until it catches up after all
	case !m.behind && n >= m.behindAt():
		m.behind, m.behindSince = true, time.Now()
		m.room.pace.behind.Add(1)
	case m.behind && n <= m.caughtUpAt():
		m.behind, m.spared = false, false
		m.room.pace.behind.Add(-1)
		return true
	}
	return false
}

// sent counts a text of the room's sent to the broker.
func (p *pacer) sent() { p.inFlight.Add(1) }

// back counts a text of the room's back from the broker, or failed. The
// waiting senders look again even if they must go on waiting: the room
// may have become congested meanwhile, which they count.
func (p *pacer) back() {
	p.inFlight.Add(-1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clear != nil {
		close(p.clear)
		p.clear = nil
	}
}
