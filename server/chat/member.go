package chat

import (
	"sync"

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

	metrics Metrics
	// limiter bounds the member's message rate; nil means no limit. Used
	// only by the reader goroutine.
	limiter *rate.Limiter

	// Guarded by room.mu.
	name string
	left bool

	// named is set once the member has a chosen name (from metadata or its
	// first non-empty user field). Used only by the reader goroutine.
	named bool

	// preamble (welcome and history) is sent before anything queued. It is
	// not queued itself, so history longer than the queue is fine.
	preamble []*outgoing
	queue    chan *outgoing

	endOnce sync.Once
	ended   chan struct{} // closed by end
	err     error         // why the stream ends; written before ended closes

	sendMu  sync.Mutex
	sending bool // the writer is inside SendMsg
	stopped bool // the writer must not call SendMsg again
}

func newMember(stream uint64, peer string, r *room, queueSize int) *member {
	return &member{
		stream: stream,
		peer:   peer,
		room:   r,
		queue:  make(chan *outgoing, queueSize),
		ended:  make(chan struct{}),
	}
}

// end asks the stream to finish with err (nil means OK). Only the first call
// counts.
func (m *member) end(err error) {
	m.endOnce.Do(func() {
		m.err = err
		close(m.ended)
	})
}

// currentName returns the member's name, which a rename may change.
func (m *member) currentName() string {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.name
}

// write is the member's only sender: the preamble, then the queue, until the
// stream ends. It never holds a lock across SendMsg.
func (m *member) write(stream grpc.ServerStream) {
	for _, o := range m.preamble {
		if !m.send(stream, o) {
			return
		}
	}
	m.preamble = nil
	for {
		select {
		case <-m.ended:
			return
		case o := <-m.queue:
			if o == leaveMarker {
				m.end(nil) // everything queued before the leave was sent
				return
			}
			if !m.send(stream, o) {
				return
			}
			if o.final {
				m.end(errShutdown)
				return
			}
		}
	}
}

// send sends one message unless the handler has stopped the writer.
func (m *member) send(stream grpc.ServerStream, o *outgoing) bool {
	m.sendMu.Lock()
	if m.stopped {
		m.sendMu.Unlock()
		return false
	}
	m.sending = true
	m.sendMu.Unlock()

	err := stream.SendMsg(o)

	m.sendMu.Lock()
	m.sending = false
	m.sendMu.Unlock()
	if err != nil {
		m.end(err)
		return false
	}
	if m.metrics != nil {
		m.metrics.MessageSent()
	}
	return true
}

// stopWriter forbids further sends and reports whether the writer is idle,
// in which case it is about to return and may be waited for. A writer stuck
// in SendMsg on a client that stopped reading is only released when the
// handler returns and gRPC cancels the stream, so it must not be waited for.
func (m *member) stopWriter() (idle bool) {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	m.stopped = true
	return !m.sending
}
