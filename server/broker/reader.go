package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of making a room's consumer. A try is short because NATS may place
// the consumer on a server of its cluster that died moments ago (it has not
// noticed yet): that try gets no answer, and the next one, placed at random
// again, most likely lands on a live server. nats.go's ordered consumer
// waits 10 s per try and backs off up to 10 s, which stalled a room for
// most of a minute after a NATS server was lost.
const (
	consumerTry      = 2 * time.Second
	consumerRetryMin = 100 * time.Millisecond
	consumerRetryMax = time.Second
	// consumerIdle is how long NATS keeps a consumer nobody pulls from: the
	// consumers of a chat node that died go away by themselves.
	consumerIdle = 5 * time.Minute
)

// reader reads the records of one room in the stream's order, through a
// consumer of its own making (memory, one replica, no acks), and makes a new
// one from the next record whenever the one it has stops delivering: a NATS
// server lost, heartbeats missed, a reconnect, a gap in its sequence. It
// does what nats.go's ordered consumer does, with tries short enough to
// ride out a lost NATS server in seconds.
type reader struct {
	b       *Broker
	filters []string
	handle  func(jetstream.Msg)
	prefix  string

	ctx    context.Context
	cancel context.CancelFunc
	// restart asks run for a new consumer (buffered: one request is enough).
	restart chan struct{}

	// deliverMu is held while a record is handled, so that a record of a
	// consumer being replaced and one of its successor never overlap.
	deliverMu sync.Mutex
	serial    atomic.Uint64 // the current consumer's; older ones' records are dropped
	next      uint64        // stream sequence to start the next consumer from
	consSeq   uint64        // consumer sequence of the last record handled
}

// newReader starts following filters from the stream's first record;
// handle is called for every record, in order, one at a time.
func (b *Broker) newReader(filters []string, handle func(jetstream.Msg)) *reader {
	ctx, cancel := context.WithCancel(context.Background())
	f := &reader{
		b: b, filters: filters, handle: handle, prefix: "room_" + newID(),
		ctx: ctx, cancel: cancel, restart: make(chan struct{}, 1), next: 1,
	}
	go f.run()
	return f
}

// stop stops following; no record is handled after it returns, except one
// being handled as it is called.
func (f *reader) stop() {
	f.cancel()
	f.serial.Add(1)
}

// again asks for a new consumer, if serial is still the current one.
func (f *reader) again(serial uint64) {
	if serial != f.serial.Load() {
		return
	}
	select {
	case f.restart <- struct{}{}:
	default:
	}
}

// run keeps a consumer delivering until the reader is stopped.
func (f *reader) run() {
	wait := consumerRetryMin
	for {
		cc, name, err := f.start()
		if err != nil {
			if f.ctx.Err() != nil {
				return
			}
			f.b.log.Debug("following a room: no consumer yet; trying again", "err", err)
			select {
			case <-f.ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, consumerRetryMax)
			continue
		}
		wait = consumerRetryMin
		select {
		case <-f.ctx.Done():
		case <-f.restart:
		}
		f.serial.Add(1)
		cc.Stop()
		go f.remove(name)
		if f.ctx.Err() != nil {
			return
		}
	}
}

// start makes a consumer from f.next on and starts pulling from it.
func (f *reader) start() (jetstream.ConsumeContext, string, error) {
	f.deliverMu.Lock()
	next := f.next
	f.consSeq = 0
	serial := f.serial.Add(1)
	f.deliverMu.Unlock()
	// Drain a request made for the consumer being replaced.
	select {
	case <-f.restart:
	default:
	}
	name := fmt.Sprintf("%s_%d", f.prefix, serial)
	ctx, cancel := context.WithTimeout(f.ctx, consumerTry)
	defer cancel()
	cons, err := f.b.js.CreateConsumer(ctx, roomStream, jetstream.ConsumerConfig{
		Name:              name,
		FilterSubjects:    f.filters,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       next,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: consumerIdle,
		Replicas:          1,
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("broker: make a room consumer: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { f.deliver(serial, m) },
		jetstream.PullExpiry(followExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { f.failed(serial, err) }))
	if err != nil {
		go f.remove(name)
		return nil, "", fmt.Errorf("broker: pull from a room consumer: %w", err)
	}
	return cc, name, nil
}

// deliver handles m if it comes from the current consumer and is the next
// record; a gap (a record lost on its way) asks for a new consumer from the
// record after the last one handled.
func (f *reader) deliver(serial uint64, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		f.b.log.Error("room message without metadata", "err", err)
		return
	}
	f.deliverMu.Lock()
	defer f.deliverMu.Unlock()
	if serial != f.serial.Load() {
		return
	}
	if meta.Sequence.Consumer != f.consSeq+1 {
		f.b.log.Warn("following a room: a record was lost on its way; starting again",
			"want", f.consSeq+1, "got", meta.Sequence.Consumer)
		f.again(serial)
		return
	}
	f.consSeq = meta.Sequence.Consumer
	f.next = meta.Sequence.Stream + 1
	f.handle(m)
}

// failed is told what went wrong with the current pull: what means the
// consumer will deliver no more asks for a new one.
func (f *reader) failed(serial uint64, err error) {
	if f.ctx.Err() != nil {
		return
	}
	if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged) {
		f.b.log.Warn("following a room: its consumer stopped; starting again", "err", err)
		f.again(serial)
		return
	}
	f.b.log.Debug("following a room", "err", err)
}

// remove deletes a consumer no longer used (it would go by itself after
// consumerIdle; this frees it at once).
func (f *reader) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), consumerTry)
	defer cancel()
	_ = f.b.js.DeleteConsumer(ctx, roomStream, name)
}
