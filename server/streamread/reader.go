// Package streamread reads a JetStream stream's messages in order, through
// consumers of its own making, riding out lost NATS servers in seconds. The
// chat's rooms and the moderation log are read this way.
package streamread

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of making a consumer. A try is short because NATS may place
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

// Options says what a Reader reads.
type Options struct {
	// Stream is the stream read, from its first message.
	Stream string
	// Filters are the subjects read (all of them when empty).
	Filters []string
	// What names what is read in log lines ("a room", "the moderation log").
	What string
	// Expiry bounds each pull request: a shorter one notices a lost server
	// sooner (heartbeats come every half of it), and costs a request per
	// expiry when idle.
	Expiry time.Duration
	// Logger receives what goes wrong (nil: slog.Default()).
	Logger *slog.Logger
}

// Reader reads the messages of a stream in order, through a consumer of
// its own making (memory, one replica, no acks), and makes a new one from
// the next message whenever the one it has stops delivering: a NATS server
// lost, heartbeats missed, a reconnect, a gap in its sequence. It does what
// nats.go's ordered consumer does, with tries short enough to ride out a
// lost NATS server in seconds.
type Reader struct {
	js     jetstream.JetStream
	opts   Options
	log    *slog.Logger
	handle func(jetstream.Msg)
	prefix string

	ctx    context.Context
	cancel context.CancelFunc
	// restart asks run for a new consumer (buffered: one request is enough).
	restart chan struct{}

	// deliverMu is held while a message is handled, so that a message of a
	// consumer being replaced and one of its successor never overlap.
	deliverMu sync.Mutex
	serial    atomic.Uint64 // the current consumer's; older ones' messages are dropped
	next      uint64        // stream sequence to start the next consumer from
	consSeq   uint64        // consumer sequence of the last message handled
}

// Start starts reading on js as opts says; handle is called for every
// message, in order, one at a time, until Stop.
func Start(js jetstream.JetStream, opts Options, handle func(jetstream.Msg)) *Reader {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Reader{
		js: js, opts: opts, log: opts.Logger.With("reading", opts.What), handle: handle,
		prefix: "read_" + newID(), ctx: ctx, cancel: cancel, restart: make(chan struct{}, 1), next: 1,
	}
	go f.run()
	return f
}

// newID returns a random id for consumer names.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Stop stops reading; no message is handled after it returns, except one
// being handled as it is called.
func (f *Reader) Stop() {
	f.cancel()
	f.serial.Add(1)
}

// Restart has the reader make a new consumer from the next message: after
// a reconnect to NATS, the one it has may have been on the server lost.
func (f *Reader) Restart() { f.again(f.serial.Load()) }

// again asks for a new consumer, if serial is still the current one.
func (f *Reader) again(serial uint64) {
	if serial != f.serial.Load() {
		return
	}
	select {
	case f.restart <- struct{}{}:
	default:
	}
}

// run keeps a consumer delivering until the reader is stopped.
func (f *Reader) run() {
	wait := consumerRetryMin
	for {
		cc, name, err := f.start()
		if err != nil {
			if f.ctx.Err() != nil {
				return
			}
			f.log.Debug("no consumer yet; trying again", "err", err)
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
func (f *Reader) start() (jetstream.ConsumeContext, string, error) {
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
	cons, err := f.js.CreateConsumer(ctx, f.opts.Stream, jetstream.ConsumerConfig{
		Name:              name,
		FilterSubjects:    f.opts.Filters,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       next,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: consumerIdle,
		Replicas:          1,
		MemoryStorage:     true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("make a consumer of %s: %w", f.opts.Stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { f.deliver(serial, m) },
		jetstream.PullExpiry(f.opts.Expiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { f.failed(serial, err) }))
	if err != nil {
		go f.remove(name)
		return nil, "", fmt.Errorf("pull from a consumer of %s: %w", f.opts.Stream, err)
	}
	return cc, name, nil
}

// deliver handles m if it comes from the current consumer and is the next
// message; a gap (a message lost on its way) asks for a new consumer from the
// message after the last one handled.
func (f *Reader) deliver(serial uint64, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		f.log.Error("message without metadata", "err", err)
		return
	}
	f.deliverMu.Lock()
	defer f.deliverMu.Unlock()
	if serial != f.serial.Load() {
		return
	}
	if meta.Sequence.Consumer != f.consSeq+1 {
		f.log.Warn("a message was lost on its way; starting again",
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
func (f *Reader) failed(serial uint64, err error) {
	if f.ctx.Err() != nil {
		return
	}
	if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
		errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged) {
		f.log.Warn("its consumer stopped; starting again", "err", err)
		f.again(serial)
		return
	}
	f.log.Debug("pulling", "err", err)
}

// remove deletes a consumer no longer used (it would go by itself after
// consumerIdle; this frees it at once).
func (f *Reader) remove(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), consumerTry)
	defer cancel()
	_ = f.js.DeleteConsumer(ctx, f.opts.Stream, name)
}
