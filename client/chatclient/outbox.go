package chatclient

import (
	"errors"
	"fmt"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// The lines sent on a stream in the last resendAge before it was lost, at
// most resendWindow of them, are resent with their own client_msg_id: the
// server sends no receipt, so any of them may have been cut off on the way,
// and it drops the ones it already has (it remembers the last 1024 ids of a
// member). A connection that dies silently is noticed within about 30s
// (keepaliveParams), so older lines did arrive; resending them would only
// double them when the server no longer knows the member.
const (
	resendAge    = time.Minute
	resendWindow = 256
)

// ownMemory is how many client_msg_ids of its own lines a session
// remembers, to recognise them when the server replays them after a
// reconnect.
const ownMemory = 1024

// errPendingFull refuses a line typed while disconnected when the queue of
// such lines is full.
var errPendingFull = errors.New("too many lines are waiting")

// outbox holds the text messages the server may not have yet: lines typed
// while disconnected, and the last lines sent on the current stream. It
// also remembers the ids of recent own lines. It is not safe for concurrent
// use.
type outbox struct {
	now     func() time.Time
	limit   int       // lines typed while disconnected, at most
	queued  []pending // to send once connected, in order
	unsent  int       // how many of queued were never sent
	inAir   []pending // sent on the current stream, oldest first
	own     map[string]bool
	ownRing []string // the ids in own, oldest first
}

// pending is one text message waiting for the server.
type pending struct {
	msg    *chatpb.ChatMessage
	sent   bool      // sent before
	sentAt time.Time // when it was last sent
}

// newOutbox returns an outbox that holds at most limit lines typed while
// disconnected; now tells the time (nil means time.Now).
func newOutbox(limit int, now func() time.Time) *outbox {
	if now == nil {
		now = time.Now
	}
	return &outbox{now: now, limit: limit, own: make(map[string]bool)}
}

// hold queues msg, typed while disconnected, to be sent once connected.
// It fails when limit such lines are already waiting.
func (o *outbox) hold(msg *chatpb.ChatMessage) error {
	if o.unsent >= o.limit {
		return fmt.Errorf("%w (%d)", errPendingFull, o.limit)
	}
	o.queued = append(o.queued, pending{msg: msg})
	o.unsent++
	o.remember(msg.GetClientMsgId())
	return nil
}

// next takes the first queued message, which is about to be sent, and
// reports whether there was one.
func (o *outbox) next() (*chatpb.ChatMessage, bool) {
	if len(o.queued) == 0 {
		return nil, false
	}
	p := o.queued[0]
	o.queued[0] = pending{}
	o.queued = o.queued[1:]
	if !p.sent {
		o.unsent--
	}
	return p.msg, true
}

// sending records that msg is being sent on the current stream.
func (o *outbox) sending(msg *chatpb.ChatMessage) {
	o.remember(msg.GetClientMsgId())
	o.inAir = append(o.inAir, pending{msg: msg, sent: true, sentAt: o.now()})
	if len(o.inAir) > resendWindow {
		o.inAir[0] = pending{}
		o.inAir = o.inAir[1:]
	}
}

// lost puts the lines sent on the stream that was lost in the last
// resendAge before the queued ones, to be resent first, in the order they
// were typed. Only a server that drops repeated client_msg_ids may get a
// line twice: with dedupe false (a server that predates them), the lines
// sent are taken to have arrived, and only the queued ones remain.
func (o *outbox) lost(dedupe bool) {
	since := o.now().Add(-resendAge)
	recent := o.inAir
	if !dedupe {
		recent = nil
	}
	for len(recent) > 0 && recent[0].sentAt.Before(since) {
		recent = recent[1:]
	}
	o.queued = append(recent, o.queued...)
	o.inAir = nil
}

// settled forgets the lines sent on the current stream: the server has
// them all, as when it ended the stream after a leave sent behind them.
func (o *outbox) settled() {
	clear(o.inAir)
	o.inAir = nil
}

// hasQueued reports whether messages wait to be sent.
func (o *outbox) hasQueued() bool { return len(o.queued) > 0 }

// isOwn reports whether id is the client_msg_id of one of this session's
// recent lines.
func (o *outbox) isOwn(id string) bool { return id != "" && o.own[id] }

// arrived records that the server has the line with client_msg_id id (it
// replayed it), so it is not resent.
func (o *outbox) arrived(id string) {
	drop := func(list []pending) []pending {
		kept := list[:0]
		for _, p := range list {
			if p.msg.GetClientMsgId() != id {
				kept = append(kept, p)
			} else if !p.sent {
				o.unsent--
			}
		}
		clear(list[len(kept):])
		return kept
	}
	o.queued = drop(o.queued)
	o.inAir = drop(o.inAir)
}

// waiting returns how many lines typed while disconnected were never sent.
func (o *outbox) waiting() int { return o.unsent }

// remember adds id to the ids of own lines, forgetting the oldest beyond
// ownMemory.
func (o *outbox) remember(id string) {
	if id == "" || o.own[id] {
		return
	}
	o.own[id] = true
	o.ownRing = append(o.ownRing, id)
	if len(o.ownRing) > ownMemory {
		delete(o.own, o.ownRing[0])
		o.ownRing = o.ownRing[1:]
	}
}
