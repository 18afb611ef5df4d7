// Package broker is the chat server's link to NATS JetStream, which the
// chat nodes of a cluster share: each room's messages in one order, its
// history, the names taken in it, the sessions members resume, the live
// nodes, and counters. With no NATS servers given it runs an embedded NATS
// server in-process, so that one chat server alone needs nothing else.
//
// What is kept where:
//
//   - stream POLYCHAT_ROOMS, subjects polychat.rooms.<room>.t (texts: a
//     room's history: the last History records per room, and a delivery
//     margin more, see historyRecords) and .n (notices,
//     kept a minute): one record per stream message, holding one message
//     or a batch of texts (see record.go);
//   - bucket polychat_members: one key per name taken in a room, <room>.<skeleton>;
//   - bucket polychat_sessions: resume session id → member key;
//   - bucket polychat_nodes: one key per live chat node, refreshed while it lives;
//   - bucket polychat_counters: message ids, Client(N) numbers and file ids;
//   - bucket polychat_files: the files offered and shared in rooms (f.<id>)
//     and the bytes they count against each signed-in user (u.<user>) or
//     client address (a.<address>);
//   - stream POLYCHAT_MODERATION, the moderation log, which package
//     moderation keeps on this broker's JetStream (see JetStream).
//
// Room names and name skeletons are base64url-encoded into subject tokens
// and keys, so that any name is safe.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Options.
const (
	// DefaultNodeTTL is how long a node that stopped refreshing its
	// liveness key counts as alive.
	DefaultNodeTTL = 10 * time.Second
	// noticeTTL is how long a notice stays in the stream: long enough for
	// every node following the room to deliver it.
	noticeTTL = time.Minute
	// opTimeout bounds one request to JetStream.
	opTimeout = 10 * time.Second
	// epochKey is the room stream's metadata key holding the epoch.
	epochKey = "polychat_epoch"
)

// Options configures Open.
type Options struct {
	// URLs are the NATS servers to connect to; none starts an embedded
	// server in-process (unless Server is set).
	URLs []string
	// Server, when set, is a NATS server already running in this process
	// to connect to in-process (several nodes in one test, say); it is
	// not shut down by Close.
	Server *server.Server
	// DataDir is where the embedded server keeps JetStream's files; empty
	// keeps everything in memory (lost when the process exits). With
	// URLs, it is not used.
	DataDir string
	// Listen, for the embedded server, is a host:port to also accept NATS
	// clients on (e.g. the nats CLI); empty accepts none.
	Listen string
	// CAFile, CertFile and KeyFile configure TLS to the NATS servers (a CA
	// to trust; a client certificate and key for mutual TLS).
	CAFile, CertFile, KeyFile string
	// CredsFile is a NATS credentials file (JWT and NKey seed).
	CredsFile string
	// Replicas is how many copies JetStream keeps of the stream and
	// buckets (1 without a cluster; 3 in a 3-node cluster).
	Replicas int
	// History is how many records of texts are a room's history (at least
	// 1, which keeps the room's last seq); the stream keeps a margin more
	// for readers lagging behind.
	History int
	// MaxBytes bounds the room stream (0: no bound): past it, the oldest
	// records go first, whatever their room.
	MaxBytes int64
	// NodeTTL is how long this node counts as alive without refreshing its
	// liveness key; it bounds how long the members of a node that died
	// keep their names before the grace period starts.
	NodeTTL time.Duration
	// Name names this node in logs and in NATS's connection list.
	Name string
	// Logger receives the broker's and the embedded server's events.
	Logger *slog.Logger
	// Observer, when set, is told how the broker fares, for metrics.
	Observer Observer
	// Epoch, when this node creates the room stream, is its epoch (an
	// older store's, imported); empty makes a new one. A stream that
	// exists keeps its own.
	Epoch string
	// BeforePublish, for tests, is called before each record is sent to
	// JetStream, on the room's publishing goroutine: blocking in it holds
	// the room's messages back, as a slow broker would.
	BeforePublish func(room string)
	// Before, for tests, is called before each write this package makes
	// to the members bucket, the counters or a room's history outside of
	// the rooms' publishing (see BeforePublish): op says which, and name
	// is the member's room, the counter or the room. Blocking in it holds
	// the write back, as a slow store would.
	Before func(op Op, name string)
}

// Op names a write to the broker, for Options.Before.
type Op string

// The writes Options.Before is called for.
const (
	OpClaim         Op = "claim"          // Claim, and Rename's claim of the new name
	OpUpdate        Op = "update"         // Update, and TakeOver's and Adopt's
	OpRelease       Op = "release"        // Release, and Rename's release of the old name
	OpReserve       Op = "reserve"        // Reserve
	OpDeleteHistory Op = "delete history" // DeleteHistory
)

// before calls Options.Before, if set.
func (b *Broker) before(op Op, name string) {
	if hook := b.opts.Before; hook != nil {
		hook(op, name)
	}
}

// Observer receives the broker's measures. Its methods are called on the
// rooms' publishing and delivering goroutines: they must be cheap.
type Observer interface {
	// Stored observes how long JetStream took to store a record (a batch
	// of texts, a notice) and acknowledge it, and whether it failed.
	Stored(d time.Duration, err error)
	// Delivered observes how long after it was stored a record reached
	// this node: the lag behind the stream.
	Delivered(lag time.Duration)
}

// ErrUnavailable is returned (wrapped) when NATS cannot be reached.
var ErrUnavailable = errors.New("the message broker (NATS) is unreachable")

// Broker is an open connection to JetStream.
type Broker struct {
	opts  Options
	log   *slog.Logger
	emb   *embedded // the embedded server, if any
	nc    *nats.Conn
	js    jetstream.JetStream
	rooms jetstream.Stream

	members, sessions, nodes, counters, files jetstream.KeyValue

	node    string // this node's id
	epoch   string
	created bool // this node created the room stream

	connected atomic.Bool
	// storeTrouble is set while the embedded server's store cannot be
	// written (see storeFailed).
	storeTrouble atomic.Pointer[storeProblem]
	closing      atomic.Bool // Close (or a failed Open) is shutting down
	statusMu     sync.Mutex
	onStatus     []func(connected bool)

	stopBeat chan struct{}
	beatDone chan struct{}
	closeMu  sync.Mutex
	closed   bool

	// followed are the rooms this node follows, for Pending.
	followMu sync.Mutex
	followed map[*Room]struct{}

	// pubMu guards the count of rooms publishing, so that Close waits
	// until what was handed to the broker before it is stored.
	pubMu      sync.Mutex
	publishers int
	pubsDone   chan struct{} // closed when publishers drops to 0 after Close began
	pubClosed  bool
}

// Open connects to NATS (starting the embedded server when opts.URLs is
// empty), creates the stream and buckets if they do not exist, and starts
// refreshing this node's liveness key.
func Open(ctx context.Context, opts Options) (_ *Broker, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Replicas < 1 {
		opts.Replicas = 1
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = DefaultNodeTTL
	}
	b := &Broker{opts: opts, log: opts.Logger, node: newID(), followed: make(map[*Room]struct{})}
	defer func() {
		if err != nil {
			b.shutdown()
		}
	}()
	if err := b.connect(ctx); err != nil {
		return nil, err
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := b.setupWhenReady(ctx); err != nil {
		return nil, err
	}
	if err := b.beat(ctx); err != nil {
		return nil, err
	}
	b.stopBeat, b.beatDone = make(chan struct{}), make(chan struct{})
	go b.heartbeat()
	return b, nil
}

// connect starts the embedded server or dials the configured ones, and
// waits (within ctx) until connected.
func (b *Broker) connect(ctx context.Context) error {
	name := b.opts.Name
	if name == "" {
		name = "polychat-chat"
	}
	up := make(chan struct{})
	var once sync.Once
	nopts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		// Nothing is kept to send once reconnected: a publish while NATS
		// is unreachable fails at once and is never stored later, so a
		// text refused to its sender (who sends it again) is not stored
		// twice.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(*nats.Conn) {
			once.Do(func() { close(up) })
			b.setConnected(true)
		}),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(200*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if !b.closing.Load() {
				b.log.Warn("lost the connection to NATS; reconnecting", "err", err)
			}
			b.setConnected(false)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
			b.setConnected(true)
			b.refollow()
		}),
		nats.ClosedHandler(func(*nats.Conn) { b.setConnected(false) }),
	}
	url := strings.Join(b.opts.URLs, ",")
	switch {
	case b.opts.Server != nil:
		nopts = append(nopts, nats.InProcessServer(b.opts.Server))
		url = b.opts.Server.ClientURL()
	case len(b.opts.URLs) == 0:
		emb, err := startEmbedded(b.opts, b.storeFailed)
		if err != nil {
			return err
		}
		b.emb = emb
		nopts = append(nopts, nats.InProcessServer(emb))
		url = emb.server().ClientURL()
	default:
		if b.opts.CAFile != "" {
			nopts = append(nopts, nats.RootCAs(b.opts.CAFile))
		}
		if b.opts.CertFile != "" || b.opts.KeyFile != "" {
			nopts = append(nopts, nats.ClientCert(b.opts.CertFile, b.opts.KeyFile))
		}
		if b.opts.CredsFile != "" {
			nopts = append(nopts, nats.UserCredentials(b.opts.CredsFile))
		}
		// Keep trying at start too: a node may come up before NATS.
		nopts = append(nopts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return fmt.Errorf("broker: connect to NATS at %s: %w", url, err)
	}
	b.nc = nc
	if nc.IsConnected() {
		b.setConnected(true)
		return nil
	}
	// Still trying (RetryOnFailedConnect): nothing can be set up before
	// the first connection.
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("broker: connect to NATS at %s: %w", url, ctx.Err())
	}
}

// setConnected records whether NATS is reachable and tells the watchers
// when that changes.
func (b *Broker) setConnected(up bool) {
	if b.connected.Swap(up) == up {
		return
	}
	b.statusMu.Lock()
	fns := slices.Clone(b.onStatus)
	b.statusMu.Unlock()
	for _, fn := range fns {
		fn(up)
	}
}

// OnStatus arranges for fn to be called whenever the connection to NATS is
// lost or back; it is called at once with the current state.
func (b *Broker) OnStatus(fn func(connected bool)) {
	b.statusMu.Lock()
	b.onStatus = append(b.onStatus, fn)
	b.statusMu.Unlock()
	fn(b.Connected())
}

// Connected reports whether NATS is reachable now.
func (b *Broker) Connected() bool { return b.connected.Load() }

// Embedded reports whether the broker runs its own NATS server.
func (b *Broker) Embedded() bool { return b.emb != nil }

// Node returns this node's id, unique to this process.
func (b *Broker) Node() string { return b.node }

// Epoch returns the epoch of the room stream: a name of its incarnation,
// made when the stream is created and kept in its metadata, so that it
// changes when the stream is replaced.
func (b *Broker) Epoch() string { return b.epoch }

// Pending returns how many records of the rooms this node follows are
// stored but not yet delivered to it: how far it lags behind the stream.
func (b *Broker) Pending() uint64 {
	b.followMu.Lock()
	defer b.followMu.Unlock()
	var n uint64
	for r := range b.followed {
		n += r.pending.Load()
	}
	return n
}

// follows registers (on) or forgets r as a room this node follows.
func (b *Broker) follows(r *Room, on bool) {
	b.followMu.Lock()
	defer b.followMu.Unlock()
	if on {
		b.followed[r] = struct{}{}
	} else {
		delete(b.followed, r)
	}
}

// refollow has every followed room make a new consumer from where it left
// off: after a reconnect, a room's consumer may have been on the NATS server
// that was lost.
func (b *Broker) refollow() {
	b.followMu.Lock()
	defer b.followMu.Unlock()
	for r := range b.followed {
		r.f.Restart()
	}
}

// Created reports whether this node created the room stream (none existed
// in NATS before it started).
func (b *Broker) Created() bool { return b.created }

// JetStream returns the broker's JetStream context, and the storage and
// replicas its streams are made with, for the moderation log to live
// beside the rooms.
func (b *Broker) JetStream() (jetstream.JetStream, jetstream.StorageType, int) {
	return b.js, b.storage(), b.opts.Replicas
}

// Conn returns the NATS connection (for tests and metrics).
func (b *Broker) Conn() *nats.Conn { return b.nc }

// storage is the storage of the stream and buckets: memory for the
// embedded server without a data directory, files otherwise.
func (b *Broker) storage() jetstream.StorageType {
	if b.emb != nil && b.opts.DataDir == "" {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// historyRecords is the per-subject limit of the room stream: the History
// records a room's history is, and as many again (at least
// minDeliveryMargin). JetStream discards a room's oldest record the moment
// a newer one passes the limit, delivered to the chat nodes following the
// room or not; a node whose reader lags the room by more than the limit (a
// burst, a consumer being made again) would never get the records
// discarded meanwhile, and its members would miss them live. Follow gives
// only the last History records as history.
func (b *Broker) historyRecords() int64 {
	history := max(b.opts.History, 1)
	return int64(history + max(history, minDeliveryMargin))
}

// minDeliveryMargin is the fewest records a room stream keeps beyond its
// history for readers lagging behind.
const minDeliveryMargin = 64

// maxBytes is the room stream's byte limit as JetStream spells it: -1 for
// none.
func (b *Broker) maxBytes() int64 {
	if b.opts.MaxBytes <= 0 {
		return -1
	}
	return b.opts.MaxBytes
}

// setupTry bounds one try of setting up the stream and buckets.
const setupTry = 2 * time.Second

// setupRetry is how long Open waits between tries of setting up the
// stream and buckets while JetStream is not ready.
const setupRetry = 250 * time.Millisecond

// setupWhenReady runs setup until it succeeds or ctx is done: the NATS
// servers of a cluster that is starting answer before JetStream has
// elected its leader or has enough servers for the replicas asked for, and
// there is no event to wait for but trying again.
func (b *Broker) setupWhenReady(ctx context.Context) error {
	for logged := false; ; {
		err := b.setup(ctx)
		if err == nil {
			return nil
		}
		if !logged {
			b.log.Info("JetStream not ready yet; trying again", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(setupRetry):
		}
	}
}

// setup creates (or updates the limits of) the room stream and the buckets,
// and reads the epoch.
func (b *Broker) setup(ctx context.Context) error {
	// One try is short: chat nodes starting together race to create the
	// stream and buckets, and a request caught in that race may get no
	// answer; setupWhenReady tries again.
	ctx, cancel := context.WithTimeout(ctx, setupTry)
	defer cancel()
	cfg := jetstream.StreamConfig{
		Name:              roomStream,
		Description:       "Polychat rooms: texts (history) and notices",
		Subjects:          []string{roomPrefix + "*.*"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: b.historyRecords(),
		MaxBytes:          b.maxBytes(),
		MaxMsgSize:        maxRecordSize + 4096,
		Storage:           b.storage(),
		Replicas:          b.opts.Replicas,
		AllowDirect:       true,
		AllowMsgTTL:       true,
		Duplicates:        2 * time.Minute,
	}
	s, err := b.js.Stream(ctx, roomStream)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		epoch := b.opts.Epoch
		if epoch == "" {
			epoch = newEpoch()
		}
		cfg.Metadata = map[string]string{epochKey: epoch}
		s, err = b.js.CreateStream(ctx, cfg)
		b.created = err == nil
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = b.js.Stream(ctx, roomStream) // another node was first
		}
		if err != nil {
			return fmt.Errorf("broker: create stream %s: %w", roomStream, err)
		}
	case err != nil:
		return fmt.Errorf("broker: stream %s: %w", roomStream, err)
	default:
		old := s.CachedInfo().Config
		if old.MaxMsgsPerSubject != cfg.MaxMsgsPerSubject || old.Replicas != cfg.Replicas || old.MaxBytes != cfg.MaxBytes {
			// Updated in place: the metadata, and so the epoch, stay.
			old.MaxMsgsPerSubject, old.Replicas, old.MaxBytes = cfg.MaxMsgsPerSubject, cfg.Replicas, cfg.MaxBytes
			if s, err = b.js.UpdateStream(ctx, old); err != nil {
				return fmt.Errorf("broker: update stream %s: %w", roomStream, err)
			}
		}
	}
	b.rooms = s
	info := s.CachedInfo()
	b.epoch = info.Config.Metadata[epochKey]
	if b.epoch == "" {
		// A stream made by hand: its creation time names it.
		sum := sha256.Sum256([]byte(info.Created.UTC().Format(time.RFC3339Nano)))
		b.epoch = hex.EncodeToString(sum[:8])
	}

	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&b.members, jetstream.KeyValueConfig{Bucket: membersBucket, Description: "Polychat: names taken in each room"}},
		{&b.sessions, jetstream.KeyValueConfig{Bucket: sessionsBucket, Description: "Polychat: resumable sessions"}},
		{&b.nodes, jetstream.KeyValueConfig{Bucket: nodesBucket, Description: "Polychat: live chat nodes",
			TTL: b.opts.NodeTTL, LimitMarkerTTL: time.Minute}},
		{&b.counters, jetstream.KeyValueConfig{Bucket: countersBucket, Description: "Polychat: message ids and client numbers"}},
		{&b.files, jetstream.KeyValueConfig{Bucket: filesBucket, Description: "Polychat: files shared in rooms, and each user's bytes shared"}},
	}
	for _, bk := range buckets {
		// A bucket that exists is taken as it is: the first node made it.
		kv, err := b.js.KeyValue(ctx, bk.cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			bk.cfg.Storage, bk.cfg.Replicas = b.storage(), b.opts.Replicas
			kv, err = b.js.CreateKeyValue(ctx, bk.cfg)
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = b.js.KeyValue(ctx, bk.cfg.Bucket)
			}
		}
		if err != nil {
			return fmt.Errorf("broker: bucket %s: %w", bk.cfg.Bucket, err)
		}
		*bk.kv = kv
	}
	return nil
}

// heartbeat refreshes this node's liveness key until Close.
func (b *Broker) heartbeat() {
	defer close(b.beatDone)
	t := time.NewTicker(b.opts.NodeTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-b.stopBeat:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), b.opts.NodeTTL/3)
			if err := b.beat(ctx); err != nil && b.Connected() {
				b.log.Warn("cannot refresh this node's liveness in NATS", "err", err)
			}
			cancel()
		}
	}
}

// beat writes this node's liveness key.
func (b *Broker) beat(ctx context.Context) error {
	_, err := b.nodes.PutString(ctx, b.node, time.Now().UTC().Format(time.RFC3339Nano))
	return err
}

// Close stops this node's heartbeat, deletes its liveness key (so that
// other nodes take over its members at once), and closes the connection
// and the embedded server.
func (b *Broker) Close() error {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.drainPublishers()
	if b.stopBeat != nil {
		close(b.stopBeat)
		<-b.beatDone
	}
	var err error
	if b.nodes != nil && b.Connected() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err = b.nodes.Delete(ctx, b.node)
		cancel()
	}
	b.shutdown()
	return err
}

// publishing counts a room publisher starting (+1) or done (-1); a start
// is refused (false) once Close has begun.
func (b *Broker) publishing(delta int) bool {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	if delta > 0 && b.pubClosed {
		return false
	}
	b.publishers += delta
	if b.publishers == 0 && b.pubsDone != nil {
		close(b.pubsDone)
		b.pubsDone = nil
	}
	return true
}

// drainPublishers refuses new publishing and waits (at most opTimeout)
// until the rooms' queues are stored.
func (b *Broker) drainPublishers() {
	b.pubMu.Lock()
	b.pubClosed = true
	if b.publishers == 0 {
		b.pubMu.Unlock()
		return
	}
	done := make(chan struct{})
	b.pubsDone = done
	b.pubMu.Unlock()
	select {
	case <-done:
	case <-time.After(opTimeout):
		b.log.Warn("closing with messages not yet stored in NATS")
	}
}

// shutdown closes the connection and the embedded server.
func (b *Broker) shutdown() {
	b.closing.Store(true)
	if b.nc != nil {
		_ = b.nc.Drain()
		b.nc.Close()
	}
	if b.emb != nil {
		b.emb.shutdown()
	}
}

// again runs op until it succeeds, fails for another reason than JetStream
// having no leader for the stream or bucket (one is being elected: a server
// of the NATS cluster was lost), or ctx is done. Such a request reached
// nobody, so trying it again cannot do it twice.
func again[T any](ctx context.Context, op func() (T, error)) (T, error) {
	wait := 50 * time.Millisecond
	for {
		v, err := op()
		if err == nil || !leaderless(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// againErr is again for an op with no value.
func againErr(ctx context.Context, op func() error) error {
	_, err := again(ctx, func() (struct{}, error) { return struct{}{}, op() })
	return err
}

// leaderless reports whether err says that no JetStream server answered
// for a stream: it has no leader right now.
func leaderless(err error) bool {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

// unavailable wraps err as ErrUnavailable when it is a connection failure.
func unavailable(err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrConnectionDraining) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// newID returns 16 random hex digits.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// newEpoch returns a new epoch: 16 hex digits, as the chat's epochs are.
func newEpoch() string { return newID() }
