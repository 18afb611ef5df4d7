package main

import (
	"sync"
	"time"
)

// outMsg is one numbered message of a sender.
type outMsg struct {
	n      int
	id     string // client_msg_id, the same on every send of the message
	text   string
	sentAt time.Time // zero until sent on a stream
}

// outbox holds a sender's messages the server may not have: those not sent
// yet, in order, and those sent on the current stream within the resend
// window. It is safe for concurrent use.
type outbox struct {
	window time.Duration
	ready  chan struct{} // signalled when queued grows

	mu     sync.Mutex
	queued []*outMsg // to send, oldest first
	inAir  []*outMsg // sent on the current stream, oldest first
	resent int       // sends of a message sent before
}

func newOutbox(window time.Duration) *outbox {
	return &outbox{window: window, ready: make(chan struct{}, 1)}
}

// add queues a new message.
func (o *outbox) add(m *outMsg) {
	o.mu.Lock()
	o.queued = append(o.queued, m)
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// next takes the first queued message, marked as sent at now (false: none).
func (o *outbox) next(now time.Time) (*outMsg, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queued) == 0 {
		return nil, false
	}
	m := o.queued[0]
	o.queued[0] = nil
	o.queued = o.queued[1:]
	if !m.sentAt.IsZero() {
		o.resent++
	}
	m.sentAt = now
	o.inAir = append(o.inAir, m)
	// Older ones are taken to have arrived: a cut is noticed at once on
	// loopback, long before the window ends.
	for len(o.inAir) > 0 && now.Sub(o.inAir[0].sentAt) > o.window {
		o.inAir[0] = nil
		o.inAir = o.inAir[1:]
	}
	return m, true
}

// lost puts the messages sent on a lost stream within the window before
// the queued ones, to be sent again first with their client_msg_id: any of
// them may have been cut off on the way, and the server drops the ones it
// has.
func (o *outbox) lost(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	keep := o.inAir[:0]
	for _, m := range o.inAir {
		if now.Sub(m.sentAt) <= o.window {
			keep = append(keep, m)
		}
	}
	o.queued = append(keep, o.queued...)
	o.inAir = nil
}

// arrived drops the message with client_msg_id id, which the server
// replayed: it has it, so it is not sent again.
func (o *outbox) arrived(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	drop := func(list []*outMsg) []*outMsg {
		keep := list[:0]
		for _, m := range list {
			if m.id != id {
				keep = append(keep, m)
			}
		}
		clear(list[len(keep):])
		return keep
	}
	o.queued = drop(o.queued)
	o.inAir = drop(o.inAir)
}

// pending reports how many messages wait to be sent.
func (o *outbox) pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queued)
}

// resends reports how many sends were of a message sent before.
func (o *outbox) resends() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.resent
}
