package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/names"
)

// This file is the chat's side of the broker (Config.Broker): NATS
// JetStream, embedded in the process or shared by the chat nodes of a
// cluster. A room's texts and notices go to the broker and come back, to
// every node following the room, in the stream's one order; members get
// them from there, so a text is stored before anyone sees it. Names are
// claimed in the broker, so they are distinct across nodes; sessions live
// there, so a member resumes on any node, and after a restart.

// brokerTimeout bounds one request to the broker made for a client. It
// outlasts a leader election: a NATS cluster that lost a server elects new
// leaders for that server's streams and buckets within its election timeout
// (4 to 9 s), and a request meanwhile is tried again, not failed.
const brokerTimeout = 12 * time.Second

// errBroker is what a client gets when the broker cannot be reached.
var errBroker = status.Error(codes.Unavailable, "the chat's message broker is unreachable; try again shortly")

// brokerCtx returns a context bounded by brokerTimeout.
func brokerCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), brokerTimeout)
}

// clientNumber returns the number of a new stream, for Client(N): from the
// broker's counter, in blocks.
func (s *Service) clientNumber() (uint64, error) {
	n, err := s.nums.take()
	if err != nil {
		return 0, errBroker
	}
	return n, nil
}

// recentTexts is a room's kept history on this node: the texts the broker
// delivered, bounded like the broker's history.
type recentTexts struct {
	msgs  []*chatpb.ChatMessage
	bytes int
}

// add keeps msg and drops the oldest texts over limit messages or
// maxBytes (no byte limit when 0).
func (h *recentTexts) add(msg *chatpb.ChatMessage, limit, maxBytes int) {
	if limit <= 0 {
		return
	}
	h.msgs = append(h.msgs, msg)
	h.bytes += len(msg.GetMessage()) + len(msg.GetUser())
	for len(h.msgs) > 0 && (len(h.msgs) > limit || (maxBytes > 0 && h.bytes > maxBytes)) {
		h.bytes -= len(h.msgs[0].GetMessage()) + len(h.msgs[0].GetUser())
		h.msgs[0] = nil
		h.msgs = h.msgs[1:]
	}
}

// followLocked has r follow its room in the broker, once: its history is
// read, and from then on every message of the room comes through relay.
// r.mu must be held, and stays held across the read: the member joining
// must be shown the history before anything live, and there is nobody
// connected here yet for it to hold up; the room's other joins wait for
// it, no other room does.
func (s *Service) followLocked(r *room) error {
	if r.link != nil {
		return nil
	}
	ctx, cancel := brokerCtx()
	defer cancel()
	// hist runs while Follow waits, with r.mu held by this goroutine: it
	// must not lock. Every later delivery locks r.mu in relay.
	link, err := s.broker.Follow(ctx, r.name, func(h []broker.Delivery) {
		r.hist = recentTexts{}
		for _, d := range h {
			r.hist.add(d.Msg, s.cfg.History, s.cfg.HistoryBytes)
			r.visibleSeq = max(r.visibleSeq, d.Msg.GetSeq())
		}
	}, func(d broker.Delivery) { s.relay(r, d) })
	if err != nil {
		s.log.Error("cannot follow a room in the broker", "room", r.name, "err", err)
		return errBroker
	}
	r.link = link
	return nil
}

// relay delivers d, a message of r that came back from the broker, to r's
// members on this node: a text or an action to all but its sender, a
// notice to all but the member it is about, a message for one member to
// that member if it is here.
func (s *Service) relay(r *room, d broker.Delivery) {
	o := newOutgoing(d.Msg, d.Data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if d.To != "" {
		if m := r.memberOf(d.To); m != nil {
			o.to = []*session{m.sess}
			s.deliverLocked(r, o, nil)
		}
		return
	}
	if !broker.Kept(d.Msg.GetKind()) {
		if d.Origin == s.noticeOrigin() {
			return // this node's own notice: its members had it at once
		}
		s.deliverLocked(r, o, nil)
		return
	}
	r.hist.add(d.Msg, s.cfg.History, s.cfg.HistoryBytes)
	if s.heldCameBackLocked(r, d.Msg, o) {
		return
	}
	// Another node's text: the stream has it before this node's texts
	// still on their way, so it goes out at once.
	s.deliverNowLocked(r, o, nil, d.Origin)
}

// publishPrivateLocked sends msg, m's private message, and echo, its echo
// to m, to the broker for the member of membership to on another node:
// each node delivers what is for its member when the record comes back, in
// the room's order. r.mu must be held.
func (s *Service) publishPrivateLocked(r *room, m *member, msg, echo *chatpb.ChatMessage, to string, log *slog.Logger) {
	if r.link == nil || m.sess.rec == nil {
		m.end(errBroker)
		return
	}
	from := m.sess.rec.ID
	r.link.PublishDirect([]broker.Direct{{Msg: msg, To: to}, {Msg: echo, To: from}}, from, func(err error) {
		if err != nil {
			log.Error("cannot send a private message to the broker", "room", r.name, "err", err)
			s.refused(r, m, msg.GetClientMsgId())
		}
	})
}

// refused ends m's stream with UNAVAILABLE because the broker did not take
// its message with client_msg_id id: the client sends it again, with the
// same id, once back, and that resend is to go out.
func (s *Service) refused(r *room, m *member, id string) {
	r.mu.Lock()
	if m.sess.seen != nil {
		m.sess.seen.forget(id)
	}
	r.mu.Unlock()
	m.end(errBroker)
}

// heldCameBackLocked looks, in one pass over r.held, for msg (o, as the
// broker stored it) among the texts this node holds back until they come
// back: found, it goes out, with what was held behind it, and true is
// returned. On the way it sends the texts of this node's that the broker
// stored before msg but that never came back: the stream discarded them
// before this node's reader got them (it lagged the room by more than the
// stream keeps), and msg coming back means they never will; without this,
// everything held behind such a text would wait for ever. r.mu must be
// held.
func (s *Service) heldCameBackLocked(r *room, msg *chatpb.ChatMessage, o *outgoing) bool {
	id, seq := msg.GetId(), msg.GetSeq()
	mine, skipped := false, false
	for _, h := range r.held {
		if h.ready || h.o != nil {
			continue
		}
		if h.id == id {
			h.o, h.ready, mine = o, true, true
		} else if stored := h.stored.Load(); stored != 0 && stored < seq {
			s.log.Warn("a text of this node's was not read back from the broker; sending it from here",
				"room", r.name, "seq", stored, "next_seq_read", seq)
			h.o, h.ready, skipped = encode(h.msg), true, true
		} else {
			continue
		}
		if h.exclude != nil {
			r.pace.back() // a member's text, counted by the pacer
		}
		if mine {
			break // texts held after it were stored after it
		}
	}
	if mine || skipped {
		s.releaseHeldLocked(r)
	}
	return mine
}

// holdLocked puts msg, a text of this node's (from exclude, who is not sent
// it; nil: a notice of the node's), at the end of r.held, until it comes
// back from the broker. The returned done, called when the broker has
// stored msg, records its seq. r.mu must be held.
func (s *Service) holdLocked(r *room, msg *chatpb.ChatMessage, exclude *member) (h *heldMsg, stored func()) {
	h = &heldMsg{id: msg.GetId(), exclude: exclude, msg: msg}
	r.held = append(r.held, h)
	return h, func() { h.stored.Store(msg.GetSeq()) }
}

// releaseHeldLocked delivers the messages at the head of r.held that are
// ready. r.mu must be held.
func (s *Service) releaseHeldLocked(r *room) {
	for len(r.held) > 0 && r.held[0].ready {
		h := r.held[0]
		r.held[0] = nil
		r.held = r.held[1:]
		if h.o != nil {
			s.deliverNowLocked(r, h.o, h.exclude, "")
		}
	}
	if len(r.held) == 0 {
		r.held = nil // let the backing array go
	}
}

// noticeOrigin is the origin of the notices this node publishes.
func (s *Service) noticeOrigin() string { return "node:" + s.broker.Node() }

// announceLocked tells r's members a notice of kind with text: those of
// this node at once (all but about, the member the notice is about; nil:
// all), and those of the other nodes through the broker.
// Notices are not history: a member joining on another node meanwhile may
// miss one, and one may overtake a text of this node's still on its way
// through the broker. r.mu must be held.
func (s *Service) announceLocked(r *room, kind chatpb.ChatMessage_Kind, text string, about *member) {
	msg := s.message(r.name, SystemUser, kind, text, nil)
	if len(r.members) > 0 {
		s.deliverLocked(r, encode(msg), about)
	}
	if s.broker.Alone() {
		return // no other node to tell
	}
	if r.link == nil {
		s.log.Warn("notice not sent to the other nodes: the room is not linked to the broker", "room", r.name, "kind", kind)
		return
	}
	r.link.Publish(msg, s.noticeOrigin(), func(err error) {
		if err != nil {
			s.log.Error("notice not sent", "room", r.name, "kind", kind, "err", err)
		}
	})
}

// newcomer is a new member's membership, its name claimed in the broker
// before its join takes a lock.
type newcomer struct {
	rec   *broker.Member
	token string // its resume token; "" when resuming is off
}

// resumesHere reports whether req resumes a session of roomName this node
// holds: a join that does claims no name.
func (s *Service) resumesHere(req resumeRequest, roomName string) bool {
	if req.token == "" || s.cfg.ResumeGrace <= 0 || tokenEpoch(req.token) != s.epoch {
		return false
	}
	sess := s.lookupSession(tokenID(req.token))
	return sess != nil && sess.room == roomName
}

// claimNewcomer claims in the broker a distinct form of want for a new
// member joining roomName with req, with a new membership (and session,
// with resuming on), skipping the names in takenHere (and the server's
// own): the join checks under the room lock that the room has none of it.
func (s *Service) claimNewcomer(roomName, want string, req resumeRequest, takenHere []string) (*newcomer, error) {
	nc := &newcomer{}
	var sessID string
	if s.cfg.ResumeGrace > 0 {
		nc.token, sessID = newToken(s.epoch)
	}
	// The skeleton of the name last tried, for taken and then its claim.
	var tried, key string
	skeleton := func(name string) string {
		if name != tried {
			tried, key = name, names.Skeleton(name)
		}
		return key
	}
	taken := func(name string) bool {
		key := skeleton(name)
		if key == systemSkeleton {
			return true
		}
		for _, t := range takenHere {
			if names.Skeleton(t) == key {
				return true
			}
		}
		return false
	}
	_, err := s.distinctInBroker(want, taken, func(ctx context.Context, name string) error {
		nc.rec = &broker.Member{
			ID: newMembershipID(), Session: sessID, Room: roomName, Name: name, Skeleton: skeleton(name),
			Named: req.named, User: req.user,
		}
		return s.broker.Claim(ctx, nc.rec)
	})
	if err != nil {
		s.log.Error("cannot claim a name in the broker", "room", roomName, "err", err)
		return nil, errBroker
	}
	return nc, nil
}

// distinctInBroker tries want, want(2), want(3)... (but those taken
// reports) with claim until one is not taken in the broker either, and
// returns it.
func (s *Service) distinctInBroker(want string, taken func(string) bool, claim func(ctx context.Context, name string) error) (string, error) {
	ctx, cancel := brokerCtx()
	defer cancel()
	for i := 1; ; i++ {
		name := want
		if i > 1 {
			name = fmt.Sprintf("%s(%d)", want, i)
		}
		if taken(name) {
			continue
		}
		switch err := claim(ctx, name); {
		case errors.Is(err, broker.ErrTaken):
			continue
		case err != nil:
			return "", err
		}
		return name, nil
	}
}

// newMembershipID returns a random membership id.
func newMembershipID() string {
	_, id := newToken("m")
	return id[:16]
}

// saveSessionLocked has the broker keep m's membership, dropped since
// dropped (connected when dropped is zero), so that m can resume on any
// node, after a restart too. It is saved after r.mu is released, in order
// with the room's other broker work (a rename before it is saved with it,
// a release after it frees what it wrote); the channel returned (nil if
// there is nothing to save) is closed once saved. r.mu must be held.
func (s *Service) saveSessionLocked(r *room, m *member, dropped time.Time) <-chan struct{} {
	sess := m.sess
	if sess == nil || sess.rec == nil {
		return nil
	}
	rec := sess.rec
	return r.offLockLocked(func() {
		// As it is by now: a rename queued before this has run.
		r.mu.Lock()
		name, named := m.name, m.named
		r.mu.Unlock()
		s.updateMember(r, sess, rec, func(next *broker.Member) error {
			next.Name, next.Named, next.DroppedAt = name, named, dropped
			ctx, cancel := brokerCtx()
			defer cancel()
			if err := s.broker.Update(ctx, next); err != nil {
				s.log.Error("cannot save a member in the broker", "room", next.Room, "err", err)
				return err
			}
			return nil
		})
	})
}

// updateMember runs change, on r's broker work, on a copy of rec, the
// membership of sess, and keeps the copy once change succeeded. It does
// nothing when sess no longer holds rec (it was freed, or another node
// holds it now). A membership's fields change only here: under r.mu,
// others read only its id.
func (s *Service) updateMember(r *room, sess *session, rec *broker.Member, change func(next *broker.Member) error) {
	r.mu.Lock()
	if sess.rec != rec {
		r.mu.Unlock()
		return
	}
	next := *rec
	r.mu.Unlock()
	if change(&next) != nil {
		return
	}
	r.mu.Lock()
	// Kept even if sess let rec go meanwhile: its release, queued after
	// this, frees what the broker holds now.
	*rec = next
	r.mu.Unlock()
}

// releaseMemberLocked has m's name freed in the broker and its session
// forgotten there, after r.mu is released (the membership is nobody's
// here any more, so it is the release's alone): m.settled is closed once
// done. r.mu must be held.
func (s *Service) releaseMemberLocked(r *room, m *member) {
	rec := m.sess.rec
	if rec == nil {
		return
	}
	m.sess.rec = nil
	m.settled = r.offLockLocked(func() { s.release(rec) })
}

// release frees rec's name in the broker and forgets its session there,
// unless another node holds it now.
func (s *Service) release(rec *broker.Member) {
	ctx, cancel := brokerCtx()
	defer cancel()
	if err := s.broker.Release(ctx, rec); err != nil && !errors.Is(err, broker.ErrChanged) {
		s.log.Error("cannot free a name in the broker", "room", rec.Room, "err", err)
	}
}

// lookupRemote finds, for a stream resuming with req into roomName, a
// session held by another node (or left by one that is gone), takes it
// over, and adopts it here as a dropped member, so that the join resumes
// it like a local one. It does nothing when the session is this node's
// or cannot be resumed (join then says why).
func (s *Service) lookupRemote(req resumeRequest, roomName string) error {
	if req.token == "" || s.cfg.ResumeGrace <= 0 || tokenEpoch(req.token) != s.epoch {
		return nil
	}
	id := tokenID(req.token)
	if s.lookupSession(id) != nil {
		return nil
	}
	ctx, cancel := brokerCtx()
	defer cancel()
	holder := ""
	for {
		rec, err := s.broker.Lookup(ctx, id)
		if err != nil {
			s.log.Error("cannot look up a session in the broker", "err", err)
			return errBroker
		}
		if rec == nil || rec.Room != roomName {
			return nil
		}
		if holder != "" && rec.Node != holder {
			return nil // resumed elsewhere meanwhile: unknown here
		}
		if s.cfg.Auth != nil && rec.User != req.user {
			s.metrics.ResumeRefused(ResumeOtherUser)
			return errOtherUsersSession
		}
		held := rec.Node // TakeOver makes rec this node's
		err = s.broker.TakeOver(ctx, rec)
		if errors.Is(err, broker.ErrChanged) {
			// The node that holds it changed it meanwhile: most often it
			// is saving the very drop this client comes back from. Read
			// it again, and take it unless another node took it first.
			holder = held
			continue
		}
		if err != nil {
			s.log.Error("cannot take over a session in the broker", "err", err)
			return errBroker
		}
		s.adopt(rec, time.Now())
		return nil
	}
}

// adopt makes rec, a membership this node now holds, a dropped member of
// its room here, keeping its name until its grace period (from dropped)
// ends unless it resumes.
func (s *Service) adopt(rec *broker.Member, dropped time.Time) {
	s.lockRooms(rec.Room)
	r := s.rooms[rec.Room]
	if r == nil {
		r = newRoom(rec.Room, s.cfg.QueueSize)
		if idle := s.idle[rec.Room]; idle != nil {
			delete(s.idle, rec.Room)
			r.creator = idle.creator
		}
		s.rooms[rec.Room] = r
		s.metrics.RoomOpened()
	}
	r.mu.Lock() // before releasing s.mu, so that r cannot be retired meanwhile
	s.mu.Unlock()
	defer r.mu.Unlock()
	if err := s.followLocked(r); err != nil {
		s.log.Error("a member taken over cannot be shown its room's messages until the broker is back", "room", r.name)
	}
	sess := &session{id: rec.Session, room: rec.Room, user: rec.User, rec: rec}
	m := newMember(0, "", r, s.cfg.QueueSize)
	m.sess, m.name, m.named = sess, rec.Name, rec.Named
	m.left, m.dropped = true, true
	sess.member = m
	if old := r.names[names.Skeleton(rec.Name)]; old != nil {
		// This node's own earlier copy of the member (it left here and
		// was resumed elsewhere meanwhile): the adopted one replaces it.
		s.forgetLocalLocked(r, old)
	}
	r.addName(m)
	r.reserved++
	if sess.id != "" {
		s.addSession(sess)
	}
	wait := max(time.Until(dropped.Add(s.cfg.ResumeGrace)), 0)
	s.expireLater(m, wait)
}

// orphaned adopts the members of chat nodes that are gone: each counts as
// dropped when its node was found gone (or when it dropped, if earlier),
// and leaves when its grace period ends unless it resumes, here or on any
// node.
func (s *Service) orphaned(recs []*broker.Member) {
	for _, rec := range recs {
		ctx, cancel := brokerCtx()
		err := s.broker.Adopt(ctx, rec)
		cancel()
		if errors.Is(err, broker.ErrChanged) {
			continue // another node was first
		}
		if err != nil {
			s.log.Error("cannot take over a member of a gone node", "room", rec.Room, "err", err)
			continue
		}
		s.adopt(rec, rec.DroppedAt)
	}
}

// takenOver lets go of the member of room with name skeleton skel, which
// another node resumed: its stream here, if any, ends without a word to
// the room, and its name and session here are forgotten (they live on
// there).
func (s *Service) takenOver(room, skel string) {
	s.mu.Lock()
	r := s.rooms[room]
	if r == nil {
		s.mu.Unlock()
		return
	}
	r.mu.Lock()
	if m := r.names[skel]; m != nil {
		s.forgetLocalLocked(r, m)
		if !m.dropped && s.detachLocked(r, m) {
			m.end(errReplaced)
		}
	}
	unload := s.retireIfEmptyLocked(r)
	r.mu.Unlock()
	s.mu.Unlock()
	if unload {
		s.unload(r)
	}
}

// forgetLocalLocked forgets m's name and session on this node only: the
// membership is another node's now. r.mu must be held.
func (s *Service) forgetLocalLocked(r *room, m *member) {
	r.dropName(m)
	if m.dropped {
		m.dropped = false
		r.reserved--
		s.gone.remove(m.memberToken, m)
	}
	sess := m.sess
	if sess == nil || sess.member != m {
		return
	}
	sess.rec = nil // not ours to release
	if sess.timer != nil {
		sess.timer.Stop()
		sess.timer = nil
	}
	if sess.id != "" {
		s.sessMu.Lock()
		delete(s.sessions, sess.id)
		s.sessMu.Unlock()
	}
}

// unload lets go of r once it is retired: the node stops following the
// room in the broker, after the room's broker work queued so far (the
// notice that its last member left goes to the other nodes first).
func (s *Service) unload(r *room) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offLockLocked(func() {
		r.mu.Lock()
		link := r.link
		r.link = nil
		r.mu.Unlock()
		if link != nil {
			link.Close()
		}
	})
}

// errOtherUsersSession refuses a resume token of another signed-in user's session.
var errOtherUsersSession = status.Error(codes.PermissionDenied,
	"this resume token belongs to another user's session; sign in as that user, or join without the token")

// publishLocked sends msg, a text of m's, to the broker; it comes back to
// the room's members (m's own node included) through relay, once stored.
// Until then, what this node tells the room after it (a notice that m
// left, say) is held back behind it. A text the broker cannot take ends
// m's stream with UNAVAILABLE: the client resends it, with the same
// client_msg_id, once back. r.mu must be held, so that texts go out in the
// order of their ids.
func (s *Service) publishLocked(r *room, m *member, msg *chatpb.ChatMessage, log *slog.Logger) {
	if r.link == nil || m.sess.rec == nil {
		m.end(errBroker)
		return
	}
	// Its sender is excluded by pointer, as without a broker, not by its
	// membership: that costs a room of 1,000 a string comparison per member.
	h, stored := s.holdLocked(r, msg, m)
	r.pace.sent()
	r.link.Publish(msg, m.sess.rec.ID, func(err error) {
		if err != nil {
			log.Error("cannot send a text to the broker", "room", r.name, "err", err)
			r.mu.Lock()
			h.ready = true // never to come back: let what waits behind it go
			s.releaseHeldLocked(r)
			r.mu.Unlock()
			r.pace.back()
			s.refused(r, m, msg.GetClientMsgId())
			return
		}
		stored()
		if log.Enabled(context.Background(), slog.LevelInfo) {
			log.Info("message", "room", r.name, "user", msg.GetUser(), "bytes", len(msg.GetMessage()), "id", msg.GetId(), "seq", msg.GetSeq())
		}
	})
}

// lastSeqInBroker returns the seq of r's last text in the broker, at least
// seen (a seq a resuming client showed) when the broker has it, or r's
// last relayed seq when it cannot be read. r.mu must be held, across the
// read: the resuming member's replay must end where live delivery to it
// starts. Only a client that saw more than this node relayed (it comes
// from a node further on) costs its room that read.
func (s *Service) lastSeqInBroker(r *room, seen uint64) uint64 {
	ctx, cancel := brokerCtx()
	defer cancel()
	last, err := s.broker.LastSeq(ctx, r.name)
	if err != nil {
		s.log.Error("cannot read a room's last seq from the broker", "room", r.name, "err", err)
		return r.visibleSeq
	}
	if last >= seen {
		return seen
	}
	return max(last, r.visibleSeq)
}
