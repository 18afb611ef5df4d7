package moderation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/polychat/polychat/server/streamread"
)

// The names Shared keeps its log under in JetStream.
const (
	// StreamName is the moderation log: every action, and the claims of
	// rooms by their creators.
	StreamName = "POLYCHAT_MODERATION"
	// AuditConsumer is the durable consumer the chat nodes deliver the
	// audit events from; a message is acknowledged once LoggerService took
	// its event.
	AuditConsumer = "polychat_audit"

	actionSubject = "polychat.moderation.actions"
	claimPrefix   = "polychat.moderation.claims."
	epochKey      = "polychat_epoch"
	// auditAckWait is how long a node that fetched an audit event and
	// stopped (crashed) holds it before another node gets it.
	auditAckWait = 30 * time.Second
)

// SharedOptions configures OpenShared.
type SharedOptions struct {
	// Storage and Replicas are those of the log stream when it is created:
	// those of the chat's other streams.
	Storage  jetstream.StorageType
	Replicas int
	// Node names this chat node; each Action read back carries the node
	// that applied it.
	Node string
	// Logger receives the log's failures to decode or follow.
	Logger *slog.Logger
}

// Shared is the Store and Outbox the chat nodes share in NATS JetStream:
// one stream, POLYCHAT_MODERATION, holds every action ever applied, in
// order, and every node folds it into what is in force, so that a ban made
// on one node holds on all of them, and after any restart.
//
// Each action and its audit event are exactly once, because they are one
// and the same stream message: Apply publishes the action (with a message
// id, so that a publish tried again after a lost acknowledgement is stored
// once), and
//   - its effect is the fold of that message on every node: there is no
//     second write that a crash could leave undone;
//   - its audit event is that message too, delivered from the durable
//     consumer polychat_audit with event_id chat-<epoch>-<stream sequence>,
//     and acknowledged only after LoggerService took it. A node that stops
//     before acknowledging leaves the message to be delivered again, with
//     the same event_id, which LoggerService stores once.
//
// So an action is either in the stream, in force and (sooner or later) in
// the audit log once, or, if the publish failed, nowhere, and the caller
// was told it failed.
type Shared struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	audit  jetstream.Consumer
	follow *streamread.Reader
	epoch  string
	node   string
	log    *slog.Logger

	mu       sync.Mutex
	st       *state
	seq      uint64        // the last stream sequence folded
	advanced chan struct{} // closed (and replaced) whenever seq moves
	replayed uint64        // sequences up to this one were there at start
	watch    func(Action)

	heldMu sync.Mutex
	held   map[uint64]heldEvent // audit events fetched, not yet delivered
}

// heldEvent is an audit event this node fetched and is delivering.
type heldEvent struct {
	action Action
	msg    jetstream.Msg
}

var (
	_ Store  = (*Shared)(nil)
	_ Outbox = (*Shared)(nil)
)

// record is an action as the stream holds it (JSON: readable with the
// nats CLI).
type record struct {
	Kind   Kind      `json:"kind"`
	Room   string    `json:"room"`
	Actor  string    `json:"actor,omitempty"`
	Target string    `json:"target,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until,omitzero"`
	Node   string    `json:"node,omitempty"`
}

// claimKind marks a claim record: a room's creator, not an audited action.
const claimKind Kind = "claim"

// OpenShared creates the moderation stream and audit consumer if they do
// not exist, reads the whole log, and follows it from then on.
func OpenShared(ctx context.Context, js jetstream.JetStream, opts SharedOptions) (_ *Shared, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Shared{
		js: js, node: opts.Node, log: opts.Logger, st: newState(),
		advanced: make(chan struct{}), held: make(map[uint64]heldEvent),
	}
	err = untilReady(ctx, s.log, func(ctx context.Context) (err error) {
		if s.stream, err = openStream(ctx, js, opts); err != nil {
			return err
		}
		s.audit, err = s.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       AuditConsumer,
			Description:   "Polychat: moderation actions not yet in LoggerService's audit log",
			FilterSubject: actionSubject,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       auditAckWait,
			MaxAckPending: 10 * pendingBatch,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			return fmt.Errorf("moderation: consumer %s: %w", AuditConsumer, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	info := s.stream.CachedInfo()
	s.epoch = info.Config.Metadata[epochKey]
	if s.epoch == "" {
		sum := sha256.Sum256([]byte(info.Created.UTC().Format(time.RFC3339Nano)))
		s.epoch = hex.EncodeToString(sum[:8])
	}
	if err := s.startFollowing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// followExpiry bounds each pull of the log: a lost NATS server is noticed
// within about half of it.
const followExpiry = 4 * time.Second

// Bounds of setting up the moderation stream and consumer. A try is short
// because chat nodes starting together race to create them, and a request
// caught in that race (the stream electing its leader among the NATS
// servers) may get no answer at all: waiting out the caller's whole
// deadline on it left a node hanging at start-up.
const (
	setupTry   = 2 * time.Second
	setupRetry = 250 * time.Millisecond
)

// untilReady runs set up, each try bounded by setupTry, until one
// succeeds or ctx is done (then the last try's error).
func untilReady(ctx context.Context, log *slog.Logger, setUp func(context.Context) error) error {
	for logged := false; ; {
		try, cancel := context.WithTimeout(ctx, setupTry)
		err := setUp(try)
		cancel()
		if err == nil {
			return nil
		}
		if !logged {
			log.Info("moderation log not ready yet; trying again", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(setupRetry):
		}
	}
}

// openStream creates (or opens) the moderation stream.
func openStream(ctx context.Context, js jetstream.JetStream, opts SharedOptions) (jetstream.Stream, error) {
	cfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Polychat moderation: every action, and the rooms' creators",
		Subjects:    []string{actionSubject, claimPrefix + "*"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     opts.Storage,
		Replicas:    max(opts.Replicas, 1),
		Duplicates:  2 * time.Minute,
		Metadata:    map[string]string{epochKey: newEpoch()},
	}
	st, err := js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = js.Stream(ctx, StreamName) // another node was first
		}
	}
	if err != nil {
		return nil, fmt.Errorf("moderation: stream %s: %w", StreamName, err)
	}
	return st, nil
}

// startFollowing folds the log as it stands, then every message after it.
func (s *Shared) startFollowing(ctx context.Context) error {
	var info *jetstream.StreamInfo
	err := untilReady(ctx, s.log, func(ctx context.Context) (err error) {
		info, err = s.stream.Info(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("moderation: stream %s: %w", StreamName, err)
	}
	s.replayed = info.State.LastSeq
	// Read as the chat's rooms are: nats.go's ordered consumer could stall
	// for most of a minute after a NATS server was lost, and a ban made on
	// another node meanwhile would not hold here.
	s.follow = streamread.Start(s.js, streamread.Options{
		Stream: StreamName, What: "the moderation log", Expiry: followExpiry, Logger: s.log,
	}, s.fold)
	if err := s.waitFolded(ctx, s.replayed); err != nil {
		s.follow.Stop()
		return fmt.Errorf("moderation: read %s: %w", StreamName, err)
	}
	return nil
}

// fold applies one message of the log to the state.
func (s *Shared) fold(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.log.Error("moderation log: message without metadata", "err", err)
		return
	}
	a, err := decode(msg.Data())
	if err != nil {
		s.log.Error("moderation log: cannot read an action; skipping it", "seq", meta.Sequence.Stream, "err", err)
	}
	a.ID = meta.Sequence.Stream
	s.mu.Lock()
	if a.ID <= s.seq {
		s.mu.Unlock()
		return
	}
	if err == nil {
		if a.Kind == claimKind {
			if len(s.st.owners[a.Room]) == 0 {
				s.st.addOwner(a.Room, a.Target)
			}
		} else {
			s.st.apply(a)
		}
	}
	s.seq = a.ID
	close(s.advanced)
	s.advanced = make(chan struct{})
	watch := s.watch
	live := a.ID > s.replayed
	s.mu.Unlock()
	if err == nil && live && watch != nil && a.Kind != claimKind {
		watch(a)
	}
}

// waitFolded waits until the log is folded up to seq.
func (s *Shared) waitFolded(ctx context.Context, seq uint64) error {
	for {
		s.mu.Lock()
		done, advanced := s.seq >= seq, s.advanced
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Watch has fn called with every action applied from now on, on any node,
// after its effect is in force here; fn runs on the goroutine that follows
// the log, so it must not block for long. Action.Node says which node
// applied it.
func (s *Shared) Watch(fn func(Action)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch = fn
}

// Epoch names this log: audit event ids carry it, so that the ids of a
// new log never repeat those of one that was deleted.
func (s *Shared) Epoch() string { return s.epoch }

// Close stops following the log and gives back the audit events this node
// holds undelivered. Call it once the Sender of its outbox has stopped.
func (s *Shared) Close() {
	if s.follow != nil {
		s.follow.Stop()
	}
	s.release()
}

// release gives back the audit events this node fetched and has not
// delivered (a Sender stopped mid-delivery, or while LoggerService was
// down), so that the next start, or another node, sends them at once
// instead of after auditAckWait: a chat server restarted with an event on
// its way would otherwise leave it out of the audit log for that long.
// Only a node that crashes leaves its events to the ack wait.
func (s *Shared) release() {
	s.heldMu.Lock()
	held := s.held
	s.held = make(map[uint64]heldEvent)
	s.heldMu.Unlock()
	if len(held) == 0 {
		return
	}
	for id, h := range held {
		if err := h.msg.Nak(); err != nil {
			s.log.Warn("moderation log: cannot give back an undelivered audit event", "seq", id, "err", err)
		}
	}
	// The Naks are on their way; the connection may close right after.
	if err := s.js.Conn().FlushTimeout(time.Second); err != nil {
		s.log.Warn("moderation log: cannot give back the undelivered audit events", "events", len(held), "err", err)
	}
}

// Apply implements Store: it publishes a and waits until this node has
// folded it, so that the caller reads its own action.
func (s *Shared) Apply(ctx context.Context, a Action) (Action, bool, error) {
	if err := check(a); err != nil {
		return a, false, err
	}
	s.mu.Lock()
	changes := s.st.changes(a)
	s.mu.Unlock()
	if !changes {
		return a, false, nil
	}
	a.Node = s.node
	seq, err := s.publish(ctx, actionSubject, a)
	if err != nil {
		return a, false, err
	}
	a.ID = seq
	return a, true, nil
}

// publish stores a on subject and waits until it is folded here.
func (s *Shared) publish(ctx context.Context, subject string, a Action, opts ...jetstream.PublishOpt) (uint64, error) {
	data, err := json.Marshal(record{
		Kind: a.Kind, Room: a.Room, Actor: a.Actor, Target: a.Target, Reason: a.Reason,
		At: a.At.UTC(), Until: a.Until.UTC(), Node: a.Node,
	})
	if err != nil {
		return 0, fmt.Errorf("moderation: encode %s: %w", a.Kind, err)
	}
	opts = append(opts, jetstream.WithMsgID(newID()))
	pub, err := s.js.Publish(ctx, subject, data, opts...)
	if err != nil {
		return 0, err
	}
	if err := s.waitFolded(ctx, pub.Sequence); err != nil {
		return 0, fmt.Errorf("moderation: %s stored but not yet read back: %w", a.Kind, err)
	}
	return pub.Sequence, nil
}

// Restriction implements Store, from this node's fold of the log.
func (s *Shared) Restriction(_ context.Context, k Kind, room, user string, now time.Time) (Restriction, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.restriction(k, room, user, now)
	return r, ok, nil
}

// Bans implements Store.
func (s *Shared) Bans(_ context.Context, room string, now time.Time) ([]Restriction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.bans(room, now), nil
}

// Owners implements Store.
func (s *Shared) Owners(_ context.Context, room string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.owners[room]), nil
}

// Topic implements Store.
func (s *Shared) Topic(_ context.Context, room string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.topics[room], nil
}

// Claim implements Store: the first claim of a room stored in the log wins
// (the publish expects no earlier message on the room's claim subject), so
// that two nodes opening a room at once make one owner.
func (s *Shared) Claim(ctx context.Context, room, user string, at time.Time) (bool, error) {
	s.mu.Lock()
	owned := len(s.st.owners[room]) > 0
	s.mu.Unlock()
	if owned {
		return false, nil
	}
	subject := claimPrefix + base64.RawURLEncoding.EncodeToString([]byte(room))
	_, err := s.publish(ctx, subject, Action{Kind: claimKind, Room: room, Target: user, At: at, Node: s.node},
		jetstream.WithExpectLastSequencePerSubject(0))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return false, nil // claimed before, by another node or an earlier run
	}
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := s.st.owners[room]
	return len(owners) == 1 && owners[0] == user, nil
}

// Pending implements Outbox: the events this node holds first (fetched
// before, not yet delivered), then new ones from the audit consumer. Held
// events are marked in progress, so that JetStream does not hand them to
// another node while LoggerService is down.
func (s *Shared) Pending(ctx context.Context, limit int) ([]Action, error) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	for _, h := range s.held {
		if err := h.msg.InProgress(); err != nil {
			return nil, fmt.Errorf("moderation: hold audit event: %w", err)
		}
	}
	if more := limit - len(s.held); more > 0 {
		batch, err := s.audit.FetchNoWait(more)
		if err != nil {
			return nil, fmt.Errorf("moderation: fetch audit events: %w", err)
		}
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			a, err := decode(msg.Data())
			if err != nil {
				// An event that cannot be read can never be delivered.
				s.log.Error("moderation log: cannot read an audit event; dropping it", "seq", meta.Sequence.Stream, "err", err)
				_ = msg.Term()
				continue
			}
			a.ID = meta.Sequence.Stream
			s.held[a.ID] = heldEvent{action: a, msg: msg}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, fmt.Errorf("moderation: fetch audit events: %w", err)
		}
	}
	out := make([]Action, 0, len(s.held))
	for _, h := range s.held {
		out = append(out, h.action)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:min(limit, len(out))], nil
}

// Delivered implements Outbox: the event's message is acknowledged, and
// JetStream confirms it, so that it is not delivered again.
func (s *Shared) Delivered(ctx context.Context, id uint64) error {
	s.heldMu.Lock()
	h, ok := s.held[id]
	s.heldMu.Unlock()
	if !ok {
		return nil
	}
	if err := h.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("moderation: acknowledge audit event %d: %w", id, err)
	}
	s.heldMu.Lock()
	delete(s.held, id)
	s.heldMu.Unlock()
	return nil
}

// decode reads a record.
func decode(data []byte) (Action, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return Action{}, err
	}
	if r.Kind != claimKind && !r.Kind.valid() {
		return Action{}, fmt.Errorf("unknown kind %q", r.Kind)
	}
	return Action{
		Kind: r.Kind, Room: r.Room, Actor: r.Actor, Target: r.Target, Reason: r.Reason,
		At: r.At, Until: r.Until, Node: r.Node,
	}, nil
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// newEpoch returns a new log's epoch.
func newEpoch() string { return newID() }
