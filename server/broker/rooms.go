package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/streamread"
)

// seqHeader, on a text record, is the seq of its last text: the room's
// last seq once it is stored. A record with the header and no entries
// marks where a deleted history ended, so that seqs are never reused.
const seqHeader = "Polychat-Seq"

// followExpiry is how long a room's consumer waits on one pull request; its
// heartbeat is half that, and two missed heartbeats (a NATS server that
// held the consumer died) make it start again on another server. Shorter
// notices a lost server sooner; every followed room costs a request per
// expiry and a heartbeat per half when idle.
const followExpiry = 4 * time.Second

// maxBatch is the most texts one record holds.
const maxBatch = 256

// Room is a room this node follows: it receives the room's messages in the
// stream's order and publishes to it.
type Room struct {
	b       *Broker
	name    string
	texts   string // subject of the room's texts
	notices string // subject of its notices

	f *streamread.Reader
	// pending is how many records of the room are stored but not yet
	// delivered here, as of the last one delivered.
	pending atomic.Uint64

	// deliverMu is held across every call of deliver: the reader's, and
	// the publisher's when it delivers a record of this node's at once
	// (deliverStored). It guards the fields below.
	deliverMu sync.Mutex
	deliver   func(Delivery)
	// textSeen is the stream sequence of the room's last text record
	// delivered here (or read past as history); read is the last record of
	// the room, of either subject, delivered here; ownOther is the last
	// notice or private record this node stored.
	textSeen, read, ownOther uint64
	closed                   atomic.Bool // by Close: deliver no more

	// stored holds this node's text records just stored, for a goroutine
	// of their own to deliver at once (see deliverStored); storing runs
	// while it does.
	storedMu sync.Mutex
	stored   []storedRecord
	storing  bool // a goroutine drains stored

	mu      sync.Mutex
	queue   []*outbound
	running bool // a publisher goroutine drains queue
	// lastSeq and lastStream are the seq of the room's last text and the
	// stream sequence of its record, as this node last knew them; known is
	// false until they are read.
	lastSeq, lastStream uint64
	known               bool
}

// outbound is a message waiting to be published, or with direct set, the
// messages for single members published together.
type outbound struct {
	msg    *chatpb.ChatMessage
	direct []Direct
	origin string
	done   func(error)
}

// kept reports whether o is kept as the room's history.
func (o *outbound) kept() bool { return o.direct == nil && Kept(o.msg.GetKind()) }

// Kept reports whether a message of kind is kept as a room's history, with
// a seq (texts, actions and files shared), rather than delivered and
// forgotten (notices, private messages).
func Kept(kind chatpb.ChatMessage_Kind) bool {
	return kind == chatpb.ChatMessage_KIND_TEXT || kind == chatpb.ChatMessage_KIND_ACTION ||
		kind == chatpb.ChatMessage_KIND_FILE
}

// Direct is a message for one member only.
type Direct struct {
	Msg *chatpb.ChatMessage
	// To is the membership (Member.ID) it is for.
	To string
}

// Follow starts following room: hist is called once with the room's kept
// texts (those of its last History records, oldest first), then deliver with every message stored after them,
// in the stream's order, on one goroutine of the Room's. Follow returns
// once hist has been called. Close the Room to stop.
func (b *Broker) Follow(ctx context.Context, room string, hist func([]Delivery), deliver func(Delivery)) (*Room, error) {
	r := &Room{b: b, name: room, texts: roomSubject(room, textKind), notices: roomSubject(room, noticeKind)}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	// Everything stored up to boundary is history (texts) or old news
	// (notices); everything after it is delivered.
	info, err := again(ctx, func() (*jetstream.StreamInfo, error) { return b.rooms.Info(ctx) })
	if err != nil {
		return nil, fmt.Errorf("broker: follow room: %w", unavailable(err))
	}
	boundary := info.State.LastSeq
	var lastText uint64
	last, err := again(ctx, func() (*jetstream.RawStreamMsg, error) { return b.rooms.GetLastMsgForSubject(ctx, r.texts) })
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return nil, fmt.Errorf("broker: follow room: %w", unavailable(err))
	default:
		lastText = last.Sequence
		r.setLast(last.Header, last.Sequence)
	}
	r.deliver, r.textSeen, r.read = deliver, min(lastText, boundary), boundary
	var (
		history [][]Delivery // the last keep records, each decoded
		keep    = max(b.opts.History, 1)
		ready   = make(chan struct{})
		caught  = lastText == 0
	)
	finish := func() {
		caught = true
		hist(slices.Concat(history...))
		history = nil
		close(ready)
	}
	if caught {
		finish()
	}
	r.f = streamread.Start(b.js, streamread.Options{
		Stream: roomStream, Filters: []string{r.texts, r.notices}, What: "room " + room,
		Expiry: followExpiry, Logger: b.log,
	}, func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			b.log.Error("room message without metadata", "room", room, "err", err)
			return
		}
		seq := meta.Sequence.Stream
		r.pending.Store(meta.NumPending)
		if seq <= boundary && !caught {
			if m.Subject() == r.texts {
				ds, err := decodeRecord(m.Data())
				if err != nil {
					b.log.Error("skipping a malformed room record", "room", room, "seq", seq, "err", err)
				}
				history = append(history, ds)
				if len(history) > keep {
					history[0] = nil
					history = history[1:]
				}
			}
			if seq >= lastText || meta.NumPending == 0 {
				finish()
			}
			return
		}
		if !caught {
			finish()
		}
		if seq <= boundary {
			return
		}
		text := m.Subject() == r.texts
		if text {
			r.setLast(m.Headers(), seq)
		}
		if obs := b.opts.Observer; obs != nil {
			obs.Delivered(time.Since(meta.Timestamp))
		}
		r.deliverMu.Lock()
		defer r.deliverMu.Unlock()
		r.read = max(r.read, seq)
		if text {
			if seq <= r.textSeen {
				return // a record of this node's, delivered when it was stored
			}
			r.textSeen = seq
		}
		ds, err := decodeRecord(m.Data())
		if err != nil {
			b.log.Error("skipping a malformed room record", "room", room, "seq", seq, "err", err)
			return
		}
		for _, d := range ds {
			deliver(d)
		}
	})
	select {
	case <-ready:
		b.follows(r, true)
		return r, nil
	case <-ctx.Done():
		r.f.Stop()
		return nil, fmt.Errorf("broker: follow room %q: reading its history: %w", room, unavailable(ctx.Err()))
	}
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// Close stops following the room. Messages queued for publishing are
// still published.
func (r *Room) Close() {
	r.closed.Store(true)
	r.f.Stop()
	r.b.follows(r, false)
}

// setLast records the room's last text record, from its seq header and
// stream sequence.
func (r *Room) setLast(h nats.Header, stream uint64) {
	seq, err := strconv.ParseUint(h.Get(seqHeader), 10, 64)
	if err != nil {
		return // not ours; the publisher reads the last record again
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if stream > r.lastStream {
		r.lastSeq, r.lastStream, r.known = seq, stream, true
	}
}

// Publish stores msg in the room (a text or an action gets the room's next
// seq, set on msg) and calls done once it is stored, or with the error why not (wrapping
// ErrUnavailable when NATS cannot be reached). Members see it when it comes
// back through Follow, on every node, in one order. origin is the sender's
// membership, "" for a notice of the server's. Messages of one Room are
// published in the order Publish is called; msg must not be changed after.
func (r *Room) Publish(msg *chatpb.ChatMessage, origin string, done func(error)) {
	r.enqueue(&outbound{msg: msg, origin: origin, done: done})
}

// PublishDirect is Publish for messages each for one member only (a
// private message and its echo): they are stored together, in the room's
// order but not as its history, kept only as long as notices, and each is
// delivered by the node holding its member.
func (r *Room) PublishDirect(msgs []Direct, origin string, done func(error)) {
	r.enqueue(&outbound{direct: msgs, origin: origin, done: done})
}

// enqueue queues o for publishing, starting the publisher if it is idle.
func (r *Room) enqueue(o *outbound) {
	r.mu.Lock()
	r.queue = append(r.queue, o)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if !start {
		return
	}
	if !r.b.publishing(1) {
		r.fail(errClosed)
		return
	}
	go r.publish()
}

// errClosed refuses what is published after Close.
var errClosed = fmt.Errorf("broker: %w: closed", ErrUnavailable)

// fail ends the queue with err: every message in it is refused.
func (r *Room) fail(err error) {
	r.mu.Lock()
	queue := r.queue
	r.queue, r.running = nil, false
	r.mu.Unlock()
	for _, o := range queue {
		if o.done != nil {
			o.done(err)
		}
	}
}

// publish drains the queue: consecutive texts (and actions) go out as one
// record, and each notice (or set of direct messages) as a record of its
// own.
func (r *Room) publish() {
	defer r.b.publishing(-1)
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		n, size := 0, 0
		text := r.queue[0].kept()
		for n < len(r.queue) && n < maxBatch && text && r.queue[n].kept() {
			size += len(r.queue[n].msg.GetMessage()) + 256
			if n > 0 && size > maxRecordSize/2 {
				break
			}
			n++
		}
		if !text {
			n = 1
		}
		batch := r.queue[:n:n]
		r.queue = r.queue[n:]
		if len(r.queue) == 0 {
			// Appending reuses the array from here on: it would keep every
			// message of a burst (a thousand join notices) as long as the
			// room is followed.
			r.queue = nil
		}
		r.mu.Unlock()

		if hook := r.b.opts.BeforePublish; hook != nil {
			hook(r.name)
		}
		var err error
		start := time.Now()
		if text {
			err = r.publishTexts(batch)
		} else {
			err = r.publishNotice(batch[0])
		}
		if obs := r.b.opts.Observer; obs != nil {
			obs.Stored(time.Since(start), err)
		}
		for _, o := range batch {
			if o.done != nil {
				o.done(err)
			}
		}
		clear(batch) // the array may still be the queue's: let the messages go
	}
}

// publishNotice stores one notice (or o's direct messages), kept only for
// noticeTTL.
func (r *Room) publishNotice(o *outbound) error {
	direct := o.direct
	if direct == nil {
		direct = []Direct{{Msg: o.msg}}
	}
	var rec []byte
	for _, d := range direct {
		data, err := proto.Marshal(d.Msg)
		if err != nil {
			return fmt.Errorf("broker: encode notice: %w", err)
		}
		rec = appendEntry(rec, data, o.origin, d.To)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	ack, err := again(ctx, func() (*jetstream.PubAck, error) {
		return r.b.js.PublishMsg(ctx, &nats.Msg{Subject: r.notices, Data: rec},
			jetstream.WithMsgTTL(noticeTTL), jetstream.WithExpectStream(roomStream))
	})
	if err != nil {
		return fmt.Errorf("broker: publish notice: %w", unavailable(err))
	}
	r.deliverMu.Lock()
	r.ownOther = max(r.ownOther, ack.Sequence)
	r.deliverMu.Unlock()
	return nil
}

// publishTexts stores batch as one record, numbering its texts after the
// room's last seq. Another node may have stored a text since this node
// last knew the room's last record: the expected-last-subject-sequence
// check refuses the record then, and it is numbered again and retried.
func (r *Room) publishTexts(batch []*outbound) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for {
		r.mu.Lock()
		known, seq, stream := r.known, r.lastSeq, r.lastStream
		r.mu.Unlock()
		if !known {
			var err error
			if seq, stream, err = r.readLast(ctx); err != nil {
				return err
			}
		}
		var rec []byte
		texts := make([]Delivery, len(batch))
		for i, o := range batch {
			o.msg.Seq = seq + uint64(i) + 1
			data, err := proto.Marshal(o.msg)
			if err != nil {
				return fmt.Errorf("broker: encode text: %w", err)
			}
			texts[i] = Delivery{Msg: o.msg, Data: data, Origin: o.origin}
			rec = appendEntry(rec, data, o.origin, "")
		}
		last := seq + uint64(len(batch))
		m := &nats.Msg{Subject: r.texts, Header: nats.Header{seqHeader: []string{strconv.FormatUint(last, 10)}}, Data: rec}
		ack, err := again(ctx, func() (*jetstream.PubAck, error) {
			return r.b.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(stream), jetstream.WithExpectStream(roomStream))
		})
		if isWrongLast(err) {
			r.mu.Lock()
			r.known = false
			r.mu.Unlock()
			continue
		}
		if err != nil {
			r.mu.Lock()
			r.known = false // the record may be stored after all
			r.mu.Unlock()
			return fmt.Errorf("broker: publish texts: %w", unavailable(err))
		}
		r.mu.Lock()
		if ack.Sequence > r.lastStream {
			r.lastSeq, r.lastStream, r.known = last, ack.Sequence, true
		}
		r.mu.Unlock()
		r.deliverStored(storedRecord{prev: stream, seq: ack.Sequence, texts: texts})
		return nil
	}
}

// storedRecord is a text record of this node's just stored at stream
// sequence seq, right after the room's text record at prev.
type storedRecord struct {
	prev, seq uint64
	texts     []Delivery
}

// deliverStored has rec delivered at once rather than when the reader
// reads it back (a hop through NATS saved on every text of this node's),
// by a goroutine that delivers the records so handed over in turn: the
// publisher goes on storing meanwhile (a room of thousands takes a while
// to deliver to).
func (r *Room) deliverStored(rec storedRecord) {
	r.storedMu.Lock()
	r.stored = append(r.stored, rec)
	start := !r.storing
	r.storing = true
	r.storedMu.Unlock()
	if start {
		go r.deliverStoredRecords()
	}
}

// deliverStoredRecords delivers the records handed to deliverStored, in
// turn, until there are none.
func (r *Room) deliverStoredRecords() {
	for {
		r.storedMu.Lock()
		if len(r.stored) == 0 {
			r.stored, r.storing = nil, false
			r.storedMu.Unlock()
			return
		}
		rec := r.stored[0]
		r.stored[0] = storedRecord{}
		r.stored = r.stored[1:]
		r.storedMu.Unlock()
		r.deliverRecord(rec)
	}
}

// deliverRecord delivers rec if this node has delivered everything the
// stream holds before it: the room's text record at rec.prev, and this
// node's own notices and private messages stored before it. Otherwise the
// reader delivers it (or already has), in order. Either way it is
// delivered once: the reader passes over a text record at or before the
// last one delivered.
func (r *Room) deliverRecord(rec storedRecord) {
	r.deliverMu.Lock()
	defer r.deliverMu.Unlock()
	if r.deliver == nil || r.textSeen != rec.prev || r.read < r.ownOther || r.closed.Load() {
		return
	}
	r.textSeen = rec.seq
	for _, d := range rec.texts {
		r.deliver(d)
	}
}

// readLast reads the room's last seq and the stream sequence of its record
// (0, 0 for a room that never had a text).
func (r *Room) readLast(ctx context.Context) (seq, stream uint64, err error) {
	last, err := again(ctx, func() (*jetstream.RawStreamMsg, error) { return r.b.rooms.GetLastMsgForSubject(ctx, r.texts) })
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("broker: read room's last text: %w", unavailable(err))
	}
	seq, err = strconv.ParseUint(last.Header.Get(seqHeader), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("broker: room's last text record has no %s header", seqHeader)
	}
	return seq, last.Sequence, nil
}

// isWrongLast reports whether err is JetStream refusing a publish whose
// expected last subject sequence is not the last.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

// LastSeq returns the seq of room's last text (0 if it never had one).
func (b *Broker) LastSeq(ctx context.Context, room string) (uint64, error) {
	r := &Room{b: b, texts: roomSubject(room, textKind)}
	seq, _, err := r.readLast(ctx)
	return seq, err
}

// Rooms returns every room with kept history and the time of its newest
// record.
func (b *Broker) Rooms(ctx context.Context) (map[string]time.Time, error) {
	info, err := b.rooms.Info(ctx, jetstream.WithSubjectFilter(roomPrefix+"*."+textKind))
	if err != nil {
		return nil, fmt.Errorf("broker: list rooms: %w", unavailable(err))
	}
	out := make(map[string]time.Time, len(info.State.Subjects))
	for subject := range info.State.Subjects {
		room, err := roomOfSubject(subject)
		if err != nil {
			continue // not a subject of ours
		}
		last, err := b.rooms.GetLastMsgForSubject(ctx, subject)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("broker: list rooms: %w", unavailable(err))
		}
		if len(last.Data) == 0 {
			continue // only the marker of a deleted history
		}
		out[room] = last.Time
	}
	return out, nil
}

// DeleteHistory deletes room's texts, keeping (in a record of no texts)
// its last seq, so that the room's seqs are never reused.
func (b *Broker) DeleteHistory(ctx context.Context, room string) error {
	b.before(OpDeleteHistory, room)
	r := &Room{b: b, texts: roomSubject(room, textKind)}
	seq, _, err := r.readLast(ctx)
	if err != nil {
		return err
	}
	if seq == 0 {
		return nil
	}
	m := &nats.Msg{Subject: r.texts, Header: nats.Header{seqHeader: []string{strconv.FormatUint(seq, 10)}}}
	ack, err := b.js.PublishMsg(ctx, m, jetstream.WithExpectStream(roomStream))
	if err != nil {
		return fmt.Errorf("broker: delete history: %w", unavailable(err))
	}
	// Everything of the room's texts before the marker goes.
	if err := b.rooms.Purge(ctx, jetstream.WithPurgeSubject(r.texts), jetstream.WithPurgeSequence(ack.Sequence)); err != nil {
		return fmt.Errorf("broker: delete history: %w", unavailable(err))
	}
	return nil
}
