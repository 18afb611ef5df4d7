package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Member is a name taken in a room, cluster-wide: kept under the room and
// the name's skeleton, so that two members can never take names that look
// alike, whichever nodes they are on.
type Member struct {
	// ID names the membership: its texts carry it as their origin. It
	// stays the same across resumes and renames.
	ID string `json:"id"`
	// Session is the hash of the member's resume token; "" when the
	// member cannot resume.
	Session string `json:"session,omitempty"`
	Room    string `json:"room"`
	Name    string `json:"name"`
	// Skeleton is the name's skeleton, part of its key.
	Skeleton string `json:"skeleton"`
	Named    bool   `json:"named,omitempty"`
	User     string `json:"user,omitempty"`
	// Node is the chat node holding the member: connected there, or
	// dropped and waiting out its grace period there.
	Node string `json:"node"`
	// DroppedAt is when the member's stream ended without a leave; zero
	// while it is connected.
	DroppedAt time.Time `json:"dropped_at,omitzero"`
	// Revision is the entry's revision in the bucket, for updates that
	// must not overwrite another node's; not stored.
	Revision uint64 `json:"-"`
}

// key is m's key in the members bucket.
func (m *Member) key() string { return memberKey(m.Room, m.Skeleton) }

// ErrTaken is returned by Claim when the name is taken in the room.
var ErrTaken = errors.New("broker: the name is taken in the room")

// ErrChanged is returned when a member entry was changed by someone else
// since it was read (another node resumed or took over the member).
var ErrChanged = errors.New("broker: the member was changed by another node")

// Claim takes m's name in its room for this node, and registers its
// session (if any); ErrTaken if a name with the same skeleton is taken.
// m.Revision is set.
func (b *Broker) Claim(ctx context.Context, m *Member) error {
	b.before(OpClaim, m.Room)
	m.Node = b.node
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("broker: encode member: %w", err)
	}
	rev, err := again(ctx, func() (uint64, error) { return b.members.Create(ctx, m.key(), data) })
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrTaken
	}
	if err != nil {
		return fmt.Errorf("broker: claim name: %w", unavailable(err))
	}
	m.Revision = rev
	if m.Session != "" {
		if _, err := again(ctx, func() (uint64, error) { return b.sessions.PutString(ctx, m.Session, m.key()) }); err != nil {
			_ = b.members.Delete(ctx, m.key(), jetstream.LastRevision(rev))
			return fmt.Errorf("broker: save session: %w", unavailable(err))
		}
	}
	return nil
}

// Update saves m, which this node holds, unless another node changed it
// since m.Revision (ErrChanged). m.Revision is updated.
func (b *Broker) Update(ctx context.Context, m *Member) error {
	b.before(OpUpdate, m.Room)
	m.Node = b.node
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("broker: encode member: %w", err)
	}
	rev, err := again(ctx, func() (uint64, error) { return b.members.Update(ctx, m.key(), data, m.Revision) })
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrChanged
	}
	if err != nil {
		return fmt.Errorf("broker: update member: %w", unavailable(err))
	}
	m.Revision = rev
	return nil
}

// Release frees m's name and forgets its session, unless another node
// changed it since m.Revision (then it is that node's: ErrChanged).
func (b *Broker) Release(ctx context.Context, m *Member) error {
	b.before(OpRelease, m.Room)
	err := againErr(ctx, func() error { return b.members.Delete(ctx, m.key(), jetstream.LastRevision(m.Revision)) })
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrChanged
	}
	if err != nil {
		return fmt.Errorf("broker: release name: %w", unavailable(err))
	}
	if m.Session != "" {
		err := againErr(ctx, func() error { return b.sessions.Delete(ctx, m.Session) })
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("broker: forget session: %w", unavailable(err))
		}
	}
	return nil
}

// Rename moves m to the name and skeleton given, claiming the new one
// before releasing the old: ErrTaken if the new one is taken (m is then
// unchanged), ErrChanged if m was changed by another node.
func (b *Broker) Rename(ctx context.Context, m *Member, name, skel string) error {
	next := *m
	next.Name, next.Skeleton, next.Named = name, skel, true
	next.Revision = 0
	if err := b.Claim(ctx, &next); err != nil {
		return err
	}
	old := *m
	old.Session = "" // now pointing at the new key
	if err := b.Release(ctx, &old); err != nil {
		_ = b.members.Delete(ctx, next.key(), jetstream.LastRevision(next.Revision))
		if m.Session != "" {
			_, _ = b.sessions.PutString(ctx, m.Session, m.key())
		}
		return err
	}
	*m = next
	return nil
}

// Lookup returns the member of the session with id, or nil if there is
// none.
func (b *Broker) Lookup(ctx context.Context, session string) (*Member, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.sessions.Get(ctx, session) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("broker: look up session: %w", unavailable(err))
	}
	m, err := b.member(ctx, string(e.Value()))
	if err != nil || m == nil || m.Session != session {
		return nil, err
	}
	return m, nil
}

// Find returns the member of room whose name has skeleton skel, on any
// node, or nil if the name is not taken.
func (b *Broker) Find(ctx context.Context, room, skel string) (*Member, error) {
	return b.member(ctx, memberKey(room, skel))
}

// member reads the member under key, or nil.
func (b *Broker) member(ctx context.Context, key string) (*Member, error) {
	e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.members.Get(ctx, key) })
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("broker: read member: %w", unavailable(err))
	}
	return decodeMember(e)
}

// decodeMember decodes a members bucket entry.
func decodeMember(e jetstream.KeyValueEntry) (*Member, error) {
	m := new(Member)
	if err := json.Unmarshal(e.Value(), m); err != nil {
		return nil, fmt.Errorf("broker: member %s: %w", e.Key(), err)
	}
	m.Revision = e.Revision()
	return m, nil
}

// TakeOver makes this node the holder of m (read by Lookup, held by
// another node or by this one), as connected, and tells the node that held
// it, if another, to let its stream go. ErrChanged if it changed since it
// was read.
func (b *Broker) TakeOver(ctx context.Context, m *Member) error {
	prev := m.Node
	m.DroppedAt = time.Time{}
	if err := b.Update(ctx, m); err != nil {
		return err
	}
	if prev != b.node {
		// At most once: a node that missed it (it is dead, or cut off)
		// finds at its next update that the member is no longer its own.
		if err := b.nc.Publish(takeoverPrefix+prev, []byte(m.key())); err != nil {
			b.log.Warn("cannot tell a node its member resumed elsewhere", "node", prev, "err", err)
		}
	}
	return nil
}

// RoomMembers returns the names taken in room, on every node.
func (b *Broker) RoomMembers(ctx context.Context, room string) ([]*Member, error) {
	return b.scan(ctx, roomKeys(room), func(*Member) bool { return true })
}

// Connected reports whether m is connected to its node (not dropped and
// waiting out its grace period).
func (m *Member) Connected() bool { return m.DroppedAt.IsZero() }

// RoomCounts returns how many connected members each room has, on every
// node; rooms without any are left out. It reads every member entry.
func (b *Broker) RoomCounts(ctx context.Context) (map[string]int, error) {
	ms, err := b.scan(ctx, ">", (*Member).Connected)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int)
	for _, m := range ms {
		counts[m.Room]++
	}
	return counts, nil
}

// scan returns the members whose keys match filter and for which keep
// reports true.
func (b *Broker) scan(ctx context.Context, filter string, keep func(*Member) bool) ([]*Member, error) {
	return scanBucket(ctx, b, b.members, filter, "members", decodeMember, keep)
}

// scanBucket returns the values of kv's keys that match filter, decoded,
// for which keep reports true. A value that does not decode is logged and
// skipped; what names the values in errors.
func scanBucket[T any](ctx context.Context, b *Broker, kv jetstream.KeyValue, filter, what string,
	decode func(jetstream.KeyValueEntry) (T, error), keep func(T) bool) ([]T, error) {
	w, err := again(ctx, func() (jetstream.KeyWatcher, error) {
		return kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	})
	if err != nil {
		return nil, fmt.Errorf("broker: list %s: %w", what, unavailable(err))
	}
	defer w.Stop()
	var out []T
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return out, nil // nil: the current values are all read
			}
			v, err := decode(e)
			if err != nil {
				b.log.Error("skipping a malformed entry", "bucket", kv.Bucket(), "key", e.Key(), "err", err)
				continue
			}
			if keep(v) {
				out = append(out, v)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("broker: list %s: %w", what, unavailable(ctx.Err()))
		}
	}
}

// Watchers of other nodes' fate.
type (
	// TakenOver is called with a member this node held that another node
	// resumed.
	TakenOver func(room, skeleton string)
	// Orphaned is called with members held by a node that is gone (it
	// stopped or died): this node may adopt them with Adopt.
	Orphaned func(members []*Member)
)

// Watch calls takenOver for each member of this node's that another node
// resumes, and orphaned with the members of every node that is gone: at
// once for those of nodes gone before this one started, then whenever a
// node stops or its liveness key expires. It runs until ctx is done.
func (b *Broker) Watch(ctx context.Context, takenOver TakenOver, orphaned Orphaned) error {
	sub, err := b.nc.Subscribe(takeoverPrefix+b.node, func(msg *nats.Msg) {
		room, skel, err := splitMemberKey(string(msg.Data))
		if err != nil {
			b.log.Warn("ignoring a malformed takeover notice", "err", err)
			return
		}
		takenOver(room, skel)
	})
	if err != nil {
		return fmt.Errorf("broker: watch takeovers: %w", unavailable(err))
	}
	nodes, err := b.nodes.WatchAll(ctx)
	if err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("broker: watch nodes: %w", unavailable(err))
	}
	go func() {
		defer sub.Unsubscribe()
		defer nodes.Stop()
		alive := make(map[string]bool)
		initial := true
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-nodes.Updates():
				if !ok {
					return
				}
				if e == nil {
					initial = false
					b.orphans(ctx, func(m *Member) bool { return m.Node != b.node && !alive[m.Node] }, orphaned)
					continue
				}
				switch e.Operation() {
				case jetstream.KeyValuePut:
					alive[e.Key()] = true
				default: // deleted at its stop, or expired
					delete(alive, e.Key())
					if !initial && e.Key() != b.node {
						gone := e.Key()
						b.log.Info("a chat node is gone; taking over its members", "node", gone)
						b.orphans(ctx, func(m *Member) bool { return m.Node == gone }, orphaned)
					}
				}
			}
		}
	}()
	return nil
}

// orphans calls orphaned with the members keep selects, if any.
func (b *Broker) orphans(ctx context.Context, keep func(*Member) bool, orphaned Orphaned) {
	sctx, cancel := context.WithTimeout(ctx, 4*opTimeout)
	defer cancel()
	ms, err := b.scan(sctx, ">", keep)
	if err != nil {
		b.log.Error("cannot list the members of nodes that are gone", "err", err)
		return
	}
	if len(ms) > 0 {
		orphaned(ms)
	}
}

// Adopt makes this node the holder of m, a member of a node that is gone,
// as dropped (since m.DroppedAt, or now): ErrChanged if another node was
// first.
func (b *Broker) Adopt(ctx context.Context, m *Member) error {
	if m.DroppedAt.IsZero() {
		m.DroppedAt = time.Now()
	}
	return b.Update(ctx, m)
}

// splitMemberKey returns the room and skeleton of a member key.
func splitMemberKey(key string) (room, skel string, err error) {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			if room, err = untoken(key[:i]); err != nil {
				return "", "", err
			}
			skel, err = untoken(key[i+1:])
			return room, skel, err
		}
	}
	return "", "", fmt.Errorf("broker: %q is not a member key", key)
}

// Reserve reserves n consecutive numbers of the counter name (message ids,
// client numbers) and returns the first; the first ever is 1.
func (b *Broker) Reserve(ctx context.Context, name string, n uint64) (uint64, error) {
	b.before(OpReserve, name)
	for {
		e, err := again(ctx, func() (jetstream.KeyValueEntry, error) { return b.counters.Get(ctx, name) })
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := again(ctx, func() (uint64, error) { return b.counters.Create(ctx, name, encodeUint(1+n)) }); err == nil {
				return 1, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, fmt.Errorf("broker: reserve %s: %w", name, unavailable(err))
			}
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("broker: reserve %s: %w", name, unavailable(err))
		}
		next, err := decodeUint(e.Value())
		if err != nil {
			return 0, fmt.Errorf("broker: counter %s: %w", name, err)
		}
		if _, err := again(ctx, func() (uint64, error) {
			return b.counters.Update(ctx, name, encodeUint(next+n), e.Revision())
		}); err == nil {
			return next, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("broker: reserve %s: %w", name, unavailable(err))
		}
	}
}

// RaiseCounter makes the counter name hand out nothing below next (used when
// importing what an older store handed out).
func (b *Broker) RaiseCounter(ctx context.Context, name string, next uint64) error {
	for {
		cur, err := b.Reserve(ctx, name, 0)
		if err != nil {
			return err
		}
		if cur >= next {
			return nil
		}
		if _, err := b.Reserve(ctx, name, next-cur); err != nil {
			return err
		}
	}
}

func encodeUint(v uint64) []byte { return fmt.Appendf(nil, "%d", v) }

func decodeUint(b []byte) (uint64, error) {
	var v uint64
	if _, err := fmt.Sscanf(string(b), "%d", &v); err != nil {
		return 0, fmt.Errorf("not a number: %q", b)
	}
	return v, nil
}

// MemberChange is a change of the names taken: Member claimed, updated
// (dropped, resumed, adopted) or, when nil, freed. A change without a Room
// only says that the watcher has every name as of Revision.
type MemberChange struct {
	Room, Skeleton string
	// Member is the member now, or nil once the name is free.
	Member *Member
	// Revision orders changes; MembersRevision says how far they go.
	Revision uint64
}

// WatchMembers calls fn with every name taken (on every node), then with
// every change, in order, on a goroutine of its own, until ctx is done.
func (b *Broker) WatchMembers(ctx context.Context, fn func(MemberChange)) error {
	start, err := b.MembersRevision(ctx)
	if err != nil {
		return err
	}
	w, err := again(ctx, func() (jetstream.KeyWatcher, error) { return b.members.WatchAll(ctx) })
	if err != nil {
		return fmt.Errorf("broker: watch members: %w", unavailable(err))
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // the current names are all read
					fn(MemberChange{Revision: start})
					continue
				}
				room, skel, err := splitMemberKey(e.Key())
				if err != nil {
					b.log.Error("skipping a malformed member key", "key", e.Key(), "err", err)
					continue
				}
				c := MemberChange{Room: room, Skeleton: skel, Revision: e.Revision()}
				if e.Operation() == jetstream.KeyValuePut {
					if c.Member, err = decodeMember(e); err != nil {
						b.log.Error("skipping a malformed member entry", "key", e.Key(), "err", err)
						continue
					}
				}
				fn(c)
			}
		}
	}()
	return nil
}

// MembersRevision returns the revision of the latest change of the names
// taken, for WatchMembers' watchers to wait for.
func (b *Broker) MembersRevision(ctx context.Context) (uint64, error) {
	st, err := again(ctx, func() (jetstream.KeyValueStatus, error) { return b.members.Status(ctx) })
	if err != nil {
		return 0, fmt.Errorf("broker: members revision: %w", unavailable(err))
	}
	kst, ok := st.(*jetstream.KeyValueBucketStatus)
	if !ok {
		return 0, errors.New("broker: members revision: not a JetStream bucket")
	}
	return kst.StreamInfo().State.LastSeq, nil
}
