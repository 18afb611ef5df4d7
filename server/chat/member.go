package chat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gammazero/deque"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	errSlow     = status.Error(codes.ResourceExhausted, "client is not reading fast enough; disconnected")
	errShutdown = status.Error(codes.Unavailable, "server is shutting down")
)

// leaveMarker is queued when a member asks to leave: the writer sends what
// was queued before it, then ends the stream with OK. It is never sent.
var leaveMarker = &outgoing{}

// member is one open stream in a room.
type member struct {
	stream uint64 // number of the stream since start
	peer   string
	room   *room
	// out is where the writer sends. Without it (hub-only tests) messages
	// stay queued.
	out grpc.ServerStream

	metrics Metrics
	// limiter bounds the member's message rate; nil means no limit. Used
	// only by the reader goroutine.
	limiter *rate.Limiter

	// Guarded by room.mu.
	name string
	key  string // the skeleton of name, its key in room.names
	left bool
	// dropped: the stream ended without a leave and the name stays
	// reserved for the grace period (the member has left the room's
	// members, left is set too).
	dropped bool
	// resumed: the member took over a session at join.
	resumed bool
	// after is the seq of the last text the member had when it resumed
	// on this node (from another) before this node relayed that far: the
	// texts up to it that come later are not sent again.
	after uint64
	// sess is the member's session: set at join, shared with the member's
	// earlier and later streams when it resumes.
	sess *session
	// memberToken, for a Join stream's member, is the token its Send and
	// Leave name it by; set at join.
	memberToken string

	// settled, once the member's name is being freed in the broker off
	// the room lock and the room told it left (or its session saved as
	// dropped), is closed when that is done. Guarded by room.mu.
	settled <-chan struct{}

	// quit is set when the client asked to leave (KIND_LEAVE): its stream
	// ending is then a leave, not a drop to ride out.
	quit atomic.Bool

	// named is set once the member has a chosen name (from metadata or its
	// first non-empty user field). Written under room.mu by the reader
	// goroutine, which alone reads it without the lock.
	named bool

	endOnce sync.Once
	ended   chan struct{} // closed by end
	err     error         // why the stream ends; written before ended closes
	// onEnd, when set (before the writer starts), is run on a goroutine of
	// its own once the member is ended, and closes finished when done:
	// the stream finishes without its handler (see finishEarly).
	onEnd    func()
	finished chan struct{}

	// The outbox. A writer goroutine runs only while there is something to
	// send, so an idle member costs just the handler and reader goroutines
	// every stream needs, and its queue shrinks back to a few slots.
	mu sync.Mutex
	// preamble (welcome and history) is sent before anything queued. It does
	// not count against the queue limit, so history longer than it is fine.
	preamble []*outgoing
	queue    deque.Deque[*outgoing]
	limit    int  // most messages queue may hold
	writing  bool // a writer goroutine is running
	sending  bool // the writer has taken a message and may be in SendMsg
	stopped  bool // the writer must not call SendMsg again
	counted  bool // counted among the room's members for pacing (pace.go)
	behind   bool // counted as behind: the queue filled past behindAt
	spared   bool // behind while the room was congested: may hold twice limit until caught up
	// behindSince is when the member last fell behind; hopeless is set
	// once it stayed behind too long while the room was congested (it has
	// stopped reading, or reads far slower than the rest): it counts as
	// behind no more, may hold its limit only, until it catches up.
	behindSince time.Time
	hopeless    bool
	writer      sync.WaitGroup // the running writer, if any
}

func newMember(stream uint64, peer string, r *room, queueSize int) *member {
	return &member{
		stream: stream,
		peer:   peer,
		room:   r,
		limit:  queueSize,
		ended:  make(chan struct{}),
	}
}

// end asks the stream to finish with err (nil means OK). Only the first call
// counts.
func (m *member) end(err error) {
	m.endOnce.Do(func() {
		m.err = err
		close(m.ended)
		if m.onEnd != nil {
			go m.onEnd()
		}
	})
}

// currentName returns the member's name, which a rename may change.
func (m *member) currentName() string {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.name
}

// push queues o and starts the writer if none is running. It never blocks; it
// reports false if the queue is full. A member whose writer has stopped takes
// and drops anything: its stream is ending.
func (m *member) push(o *outgoing) bool {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return true
	}
	if m.queue.Len() >= m.roomLimit() {
		m.mu.Unlock()
		return false
	}
	m.queue.PushBack(o)
	m.markLocked()
	start := m.claimWriterLocked()
	m.mu.Unlock()
	if start {
		go m.write()
	}
	return true
}

// claimWriterLocked reports whether the caller must start the writer, and
// counts it as running. m.mu must be held.
func (m *member) claimWriterLocked() bool {
	if m.writing || m.out == nil {
		return false
	}
	m.writing = true
	m.writer.Add(1)
	return true
}

// next takes the message to send next, or returns nil and marks the writer
// as gone if there is none or the writer was stopped.
func (m *member) next() *outgoing {
	m.mu.Lock()
	var o *outgoing
	update := false
	switch {
	case m.stopped:
	case len(m.preamble) > 0:
		o, m.preamble[0] = m.preamble[0], nil
		m.preamble = m.preamble[1:]
	case m.queue.Len() > 0:
		o = m.queue.PopFront()
		update = m.markLocked()
	}
	m.sending = o != nil
	if o == nil {
		m.writing = false
	}
	m.mu.Unlock()
	if update {
		m.room.pace.update() // the room may have caught up
	}
	return o
}

// write is the member's only sender: the preamble, then the queue, until
// both are empty or the stream ends. It never holds a lock across SendMsg.
func (m *member) write() {
	defer m.writer.Done()
	for {
		o := m.next()
		switch {
		case o == nil:
			return
		case o == leaveMarker:
			m.end(nil) // everything queued before the leave was sent
			return
		case o.ends != nil:
			m.end(o.ends)
			return
		}
		if err := m.out.SendMsg(o); err != nil {
			m.end(err)
			return
		}
		if m.metrics != nil {
			m.metrics.MessageSent()
		}
		if o.final {
			m.end(errShutdown)
			return
		}
	}
}

// stopWriter forbids further sends and waits for the writer to return, unless
// it may be inside SendMsg. A writer stuck in SendMsg on a client that
// stopped reading is only released when the handler returns and gRPC cancels
// the stream, so it must not be waited for.
func (m *member) stopWriter() {
	m.mu.Lock()
	m.stopped = true
	busy := m.sending
	m.mu.Unlock()
	if !busy {
		m.writer.Wait()
	}
}
