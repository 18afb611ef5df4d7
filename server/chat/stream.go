package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
	"github.com/polychat/polychat/server/limits"
	"github.com/polychat/polychat/server/names"
)

// ChatStream implements chatpb.ChatServiceServer. The stream joins its room
// before anything is read, so a client that never sends still receives.
func (s *Service) ChatStream(stream grpc.BidiStreamingServer[chatpb.ChatMessage, chatpb.ChatMessage]) (err error) {
	defer func() { s.metrics.StreamEnded(status.Code(err)) }()
	// Joining runs deep (broker requests, logging) and grows the stack of
	// the goroutine doing it, which keeps that size while it uses a quarter
	// of it: the handler goroutine, which waits as long as the member
	// stays, would keep a joining-sized stack for nothing. A goroutine of
	// its own joins, and gives its stack back when it ends.
	entered := make(chan entry, 1)
	go func() { entered <- s.enter(stream) }()
	e := <-entered
	if e.err != nil {
		return e.err
	}
	m, log := e.m, e.log
	if m.finished != nil {
		// Ending the member finishes the stream (see finishEarly), which
		// also ends a RecvMsg: this goroutine reads, and an idle member
		// costs no other.
		s.read(stream, m, log)
		select {
		case <-m.ended:
		case <-stream.Context().Done():
			m.end(status.FromContextError(stream.Context().Err()).Err())
		}
		<-m.finished
		return m.err
	}
	// The reader may outlive this handler by one Recv, which fails as soon as
	// gRPC cancels the stream on return; everything it does after that is
	// ignored because the member has left.
	go s.read(stream, m, log)
	return s.stay(stream.Context(), m, log, 0)
}

// statusWriter is what gRPC's transport stream (the ServerTransportStream
// of a handler's context) does to end a stream with a status: trailers,
// then the stream's context is cancelled, which ends a RecvMsg waiting on
// it. The handler's own return writes the status too, once more, to no
// effect.
type statusWriter interface {
	WriteStatus(*status.Status) error
}

// finishEarly makes ending m (m.end) finish its stream at once, off the
// handler goroutine: m leaves its room as when stay sees the end, then the
// stream's status is written, and m.finished is closed. The handler
// goroutine can then wait in RecvMsg instead of on m.ended, with no reader
// goroutine beside it. It does nothing (the stream keeps stay and a reader
// goroutine) when out's transport stream cannot write its status. Called
// before m's writer starts, which may end m.
func (s *Service) finishEarly(m *member, out grpc.ServerStream, log *slog.Logger) {
	w, ok := grpc.ServerTransportStreamFromContext(out.Context()).(statusWriter)
	if !ok || log == nil {
		return
	}
	m.finished = make(chan struct{})
	m.onEnd = func() {
		defer close(m.finished)
		s.finish(m, log)
		st, ok := status.FromError(m.err)
		if !ok {
			// As gRPC turns a handler's error that is not a status.
			st = status.FromContextError(m.err)
		}
		_ = w.WriteStatus(st) // fails only if the stream has already ended
	}
}

// entry is what enter returns: the member that joined and its stream's
// logger, or why it could not join.
type entry struct {
	m   *member
	log *slog.Logger
	err error
}

// enter reads what a new ChatStream asks for from its metadata and joins
// the member to its room (see join).
func (s *Service) enter(stream grpc.ServerStream) entry {
	ctx := stream.Context()
	n := s.streams.Add(1)
	addr, ip := peerOf(ctx)
	log := s.log.With("peer", addr, "stream", n)
	log.Info("client connected")
	rejected := func(err error) entry {
		log.Info("client rejected", "code", status.Code(err), "reason", status.Convert(err).Message())
		return entry{err: err}
	}

	signedIn, err := s.signedInUser(ctx)
	if err != nil {
		return rejected(err)
	}
	name, roomName, err := s.fromMetadata(ctx, signedIn == "")
	if err != nil {
		return rejected(err)
	}
	req, err := resumeFromMetadata(ctx)
	if err != nil {
		return rejected(err)
	}
	if signedIn != "" {
		// The signed-in user's name, whatever chat-user asks for: nobody
		// can claim someone else's name.
		name = signedIn
	}
	named := name != ""
	if name, err = s.streamName(name); err != nil {
		return rejected(err)
	}
	req.user, req.named, req.log = signedIn, named, log
	if s.cfg.FileKey != nil {
		// The file RPCs name the membership by it, as Send names a Join's.
		req.memberToken = newMemberToken()
	}
	m, err := s.join(n, addr, ip, roomName, name, req, stream)
	if err != nil {
		return rejected(err)
	}
	log.Info("client joined", "user", m.name, "room", roomName, "signed_in", signedIn != "", "resumed", m.resumed)
	return entry{m: m, log: log}
}

// streamName returns the name a new stream asks for: want, or Client(N)
// when it asks for none. Every stream takes a number, named or not, so
// that Client(N) counts streams, on every node.
func (s *Service) streamName(want string) (string, error) {
	num, err := s.clientNumber()
	if err != nil || want != "" {
		return want, err
	}
	return fmt.Sprintf("Client(%d)", num), nil
}

// peerOf returns the address of the call's peer and its IP address (as
// limits.IP gives it), or "unknown".
func peerOf(ctx context.Context) (addr, ip string) {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String(), limits.IP(p.Addr)
	}
	return "unknown", "unknown"
}

// stay keeps m, a member whose stream has ctx, in its room until its stream
// ends or is cancelled, then takes it out (a leave or a drop) and returns
// the status the stream ends with.
func (s *Service) stay(ctx context.Context, m *member, log *slog.Logger, heartbeat time.Duration) error {
	var beats <-chan time.Time
	if heartbeat > 0 {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		beats = t.C
	}
wait:
	for {
		select {
		case <-m.ended:
			break wait
		case <-ctx.Done():
			m.end(status.FromContextError(ctx.Err()).Err())
			break wait
		case <-beats:
			// A member too slow to take it is dropped as for any message.
			if !m.push(heartbeatMessage(m.room.name)) {
				m.end(errSlow)
			}
		}
	}
	s.finish(m, log)
	return m.err
}

// finish takes m, whose stream is ending, out of its room (a leave or a
// drop) and stops its writer.
func (s *Service) finish(m *member, log *slog.Logger) {
	final := m.currentName()
	dropped := s.leave(m)
	m.stopWriter()
	log.Info("client left", "user", final, "room", m.room.name, "code", status.Code(m.err), "reason", status.Convert(m.err).Message(),
		"name_reserved", dropped)
}

// resumeRequest is what a client asks for when it opens its stream:
// resuming a session (token) and replay after a resume point (from), and
// who it is.
type resumeRequest struct {
	token string
	from  *resumePoint
	user  string // signed-in user, "" without sign-in
	named bool   // the client asked for a name
	// memberToken, on a Join stream, is the credential Send and Leave
	// name the membership with: put in the welcome and registered.
	memberToken string
	// log, for a ChatStream, is its logger: its end then runs as soon as
	// it is ended (see finishEarly).
	log *slog.Logger
}

// resumeFromMetadata reads chat-resume-token and chat-resume-from.
func resumeFromMetadata(ctx context.Context) (resumeRequest, error) {
	// ValueFromIncomingContext copies one key's values; FromIncomingContext
	// would copy every key's, on every join.
	var req resumeRequest
	if v := metadata.ValueFromIncomingContext(ctx, chatwire.ResumeTokenKey); len(v) > 0 {
		req.token = v[0]
	}
	if v := metadata.ValueFromIncomingContext(ctx, chatwire.ResumeFromKey); len(v) > 0 {
		p, err := parseResumeFrom(strings.TrimSpace(v[0]))
		if err != nil {
			return req, err
		}
		req.from = &p
	}
	return req, nil
}

// fromMetadata returns the validated name (empty when none was asked for,
// or when withName is false) and room from the request metadata.
func (s *Service) fromMetadata(ctx context.Context, withName bool) (name, room string, err error) {
	first := func(key string) string {
		if v := metadata.ValueFromIncomingContext(ctx, key); len(v) > 0 {
			return v[0]
		}
		if v := metadata.ValueFromIncomingContext(ctx, key+"-bin"); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if withName {
		if name, err = s.cleanName("name ("+chatwire.UserKey+")", first(chatwire.UserKey)); err != nil {
			return "", "", err
		}
	}
	if room, err = s.cleanName("room ("+chatwire.RoomKey+")", first(chatwire.RoomKey)); err != nil {
		return "", "", err
	}
	if room == "" {
		room = chatwire.DefaultRoom
	}
	return name, room, nil
}

// join registers a member named (a distinct form of) want in roomName, or
// the member of the session req resumes, and starts sending it its welcome
// and history on out. Holding the room lock while taking the history
// snapshot and registering means the member sees every message exactly
// once: either in the history (or the replay) or live.
//
// A new member's name is claimed in the broker before any lock is taken, so
// that a slow broker holds up this join alone, not its room.
func (s *Service) join(stream uint64, addr, ip, roomName, want string, req resumeRequest, out grpc.ServerStream) (*member, error) {
	if !s.broker.Connected() {
		return nil, status.Error(codes.Unavailable, s.broker.Problem())
	}
	if err := s.checkBan(out.Context(), roomName, req.user); err != nil {
		return nil, err
	}
	s.claimRoom(out.Context(), roomName, req.user)
	// A session another node holds (or held) becomes this node's first.
	if err := s.lookupRemote(req, roomName); err != nil {
		return nil, err
	}
	var takenHere []string // names the broker gave but this node has
	for {
		var nc *newcomer
		if !s.resumesHere(req, roomName) {
			if err := s.mayJoin(roomName, ip); err != nil {
				return nil, err
			}
			var err error
			if nc, err = s.claimNewcomer(roomName, want, req, takenHere); err != nil {
				return nil, err
			}
		}
		m, err := s.enterRoom(stream, addr, ip, roomName, req, nc, out)
		if err == nil {
			return m, nil
		}
		if nc != nil {
			s.release(nc.rec)
		}
		if !errors.Is(err, errJoinAgain) {
			return nil, err
		}
		if nc != nil {
			takenHere = append(takenHere, nc.rec.Name)
		}
	}
}

// errJoinAgain is what enterRoom returns when the join is to start over: the
// session it was to resume has expired meanwhile, or the name claimed for
// it is taken here.
var errJoinAgain = errors.New("join again")

// mayJoin refuses a join that cannot go on: the server is shutting down,
// or the room would be over the room limits. enterRoom checks again, under
// the lock; this spares a refused join its claim in the broker.
func (s *Service) mayJoin(roomName, ip string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errShutdown
	}
	if s.rooms[roomName] != nil {
		return nil
	}
	return s.roomRefusedLocked(roomName, ip)
}

// enterRoom makes a member of the room for a join: the member of the session
// req resumes, or the newcomer nc, claimed for it (nil when req resumes a
// session here). It returns errJoinAgain if it can be neither. r.mu is
// held from taking the room's history to registering the member.
func (s *Service) enterRoom(stream uint64, addr, ip, roomName string, req resumeRequest, nc *newcomer, out grpc.ServerStream) (*member, error) {
	s.lockRooms(roomName)
	if s.closing {
		s.mu.Unlock()
		return nil, errShutdown
	}
	// Under s.mu from here to r.mu: a session found cannot expire, nor its
	// room close, before the member takes it over (expire takes s.mu).
	sess, why, err := s.findSession(req, roomName)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	r := s.rooms[roomName]
	if r == nil {
		if r, err = s.openRoomLocked(roomName, ip); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	r.mu.Lock() // before releasing s.mu, so leave cannot delete r meanwhile
	s.mu.Unlock()
	defer r.mu.Unlock()
	// The first member of a room new here waits for its history to be read
	// from the broker, the others for the room lock.
	if err := s.followLocked(r); err != nil {
		return nil, err
	}
	if sess == nil && (nc == nil || r.takenKey(nc.rec.Skeleton)) {
		return nil, errJoinAgain
	}

	m := newMember(stream, addr, r, s.cfg.QueueSize)
	m.out = out
	m.metrics = s.metrics
	s.finishEarly(m, out, req.log)
	if s.cfg.Rate > 0 {
		m.limiter = rate.NewLimiter(rate.Limit(s.cfg.Rate), s.cfg.Burst)
	}
	var token string
	if sess != nil {
		if nc != nil {
			// Claimed for a session that was not here yet, unused.
			r.offLockLocked(func() { s.release(nc.rec) })
		}
		token = req.token
		s.takeOverLocked(r, sess, m)
	} else {
		token = nc.token
		m.name, m.named = nc.rec.Name, req.named
		m.sess = &session{id: nc.rec.Session, room: r.name, user: req.user, rec: nc.rec}
		if m.sess.id != "" {
			s.addSession(m.sess)
		}
		m.sess.member = m
		m.sess.seen = newRecentIDs()
		if why != "" {
			// A client whose session expired resends its last lines.
			s.sessMu.Lock()
			ids := s.expired.take(tokenID(req.token), r.name, req.user, time.Now())
			s.sessMu.Unlock()
			for _, id := range ids {
				m.sess.seen.add(id)
			}
		}
	}

	if why != "" {
		m.preamble = append(m.preamble, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM,
			"Could not resume: "+why+"; joined as a new member", nil))
	}
	welcome := s.message(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM,
		fmt.Sprintf("Welcome, %s! You are in room %s.", m.name, r.name), nil)
	if m.resumed {
		welcome.Message = fmt.Sprintf("Welcome back, %s! You are in room %s.", m.name, r.name)
	}
	if topic, err := s.moderation.Topic(context.Background(), r.name); err != nil {
		s.log.Error("moderation store: topic", "room", r.name, "err", err)
	} else if topic != "" {
		welcome.Topic = topic
		welcome.Message += " Topic: " + topic
	}
	welcome.ResumeToken, welcome.Resumed = token, m.resumed
	if req.memberToken != "" {
		// Registered before the writer starts, so that the member is found
		// by the time its client can know the token.
		welcome.MemberToken = req.memberToken
		m.memberToken = req.memberToken
		s.joined.add(req.memberToken, m)
	}
	m.preamble = append(m.preamble, encode(welcome))
	s.replayLocked(r, m, req.from)

	if !m.resumed {
		s.noticeLocked(r, chatpb.ChatMessage_KIND_JOIN, m.name+" joined the room", m)
		r.addName(m)
	}
	r.members = append(r.members, m)
	m.count()
	if m.resumed {
		// Connected again. A new member's record is as its claim stored
		// it: saving it again would cost every join one more write to
		// the broker.
		s.saveSessionLocked(r, m, time.Time{})
	}
	s.metrics.ClientJoined()
	m.mu.Lock()
	start := m.claimWriterLocked()
	m.mu.Unlock()
	if start {
		go m.write()
	}
	return m, nil
}

// findSession returns the session req resumes in roomName, or nil and why
// it cannot be resumed ("" when req resumes nothing). A session of another
// signed-in user is PERMISSION_DENIED. s.mu must be held.
func (s *Service) findSession(req resumeRequest, roomName string) (*session, string, error) {
	if req.token == "" {
		return nil, "", nil
	}
	if s.cfg.ResumeGrace <= 0 {
		s.metrics.ResumeRefused(ResumeOff)
		return nil, "resuming is turned off on this server", nil
	}
	if tokenEpoch(req.token) != s.epoch {
		s.metrics.ResumeRefused(ResumeStoreReset)
		return nil, "the server's history was reset since the token was issued", nil
	}
	sess := s.lookupSession(tokenID(req.token))
	if sess == nil {
		s.metrics.ResumeRefused(ResumeUnknown)
		return nil, "the session has expired or is unknown", nil
	}
	if sess.room != roomName {
		s.metrics.ResumeRefused(ResumeOtherRoom)
		return nil, "the token is for another room", nil
	}
	if s.cfg.Auth != nil && sess.user != req.user {
		s.metrics.ResumeRefused(ResumeOtherUser)
		return nil, "", errOtherUsersSession
	}
	return sess, "", nil
}

// takeOverLocked makes m the member of sess, which it resumes: m gets the
// name, and the earlier stream, if the server still has it, is ended
// without a word to the room. r.mu must be held.
func (s *Service) takeOverLocked(r *room, sess *session, m *member) {
	old := sess.member
	if old.dropped {
		old.dropped = false
		r.reserved--
		s.gone.remove(old.memberToken, old)
		if sess.timer != nil {
			sess.timer.Stop()
			sess.timer = nil
		}
	} else if s.detachLocked(r, old) {
		old.end(errReplaced)
	}
	m.name, m.named, m.resumed = old.name, old.named, true
	s.metrics.MemberResumed()
	m.sess = sess
	sess.member = m
	r.dropName(old)
	r.addName(m)
	if sess.seen == nil {
		// Taken over from another node, or after a restart: the ids of the
		// member's messages still in the history stand in for the ones
		// remembered before.
		sess.seen = newRecentIDs()
		for _, h := range r.hist.msgs {
			if h.GetUser() == m.name && h.GetClientMsgId() != "" {
				sess.seen.add(h.GetClientMsgId())
			}
		}
	}
}

// replayLocked queues for m, after its welcome, what it is shown of r's
// history: the history block, or with a resume point of this epoch exactly
// the messages after it. r.mu must be held.
func (s *Service) replayLocked(r *room, m *member, from *resumePoint) {
	hist := r.hist.msgs
	for len(hist) > 0 && hist[len(hist)-1].GetSeq() > r.visibleSeq {
		hist = hist[:len(hist)-1] // not yet relayed here: it comes live
	}
	last := r.visibleSeq
	if from != nil && from.epoch == s.epoch && from.seq > last {
		// The client saw, on another node, texts this node has not
		// relayed yet: they are on their way, not a reset.
		last = s.lastSeqInBroker(r, from.seq)
		m.after = from.seq
	}
	p := planReplay(s.epoch, last, hist, from)
	if p.reset {
		m.preamble = append(m.preamble, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM,
			"The server's history was reset; showing recent messages", nil))
	}
	if p.missed > 0 {
		unit := "messages"
		if p.missed == 1 {
			unit = "message"
		}
		m.preamble = append(m.preamble, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_SYSTEM,
			fmt.Sprintf("You missed %d %s that are no longer in history", p.missed, unit), nil))
	}
	if len(p.msgs) == 0 {
		return
	}
	if p.block {
		m.preamble = append(m.preamble, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_HISTORY_START,
			fmt.Sprintf("--- Recent messages in %s ---", r.name), nil))
	}
	for _, h := range p.msgs {
		m.preamble = append(m.preamble, encode(h))
	}
	if p.block {
		m.preamble = append(m.preamble, s.newMessage(r.name, SystemUser, chatpb.ChatMessage_KIND_HISTORY_END,
			"--- End of history ---", nil))
	}
}

// leave takes m out of its room (if a slow-client disconnect has not
// already) and forgets the room once nobody is in it or keeps a name there.
// It reports whether m's name stays reserved for the grace period.
//
// Only the room lock is held while m leaves, and its name is freed in the
// broker after that, or its session saved as dropped (waited for, so that
// its client, told the stream ended, finds the name free, and the other
// nodes know it dropped): a slow broker holds up no one but m.
func (s *Service) leave(m *member) (dropped bool) {
	r := m.room
	r.mu.Lock()
	s.dropOrRemoveLocked(r, m)
	dropped, settled := m.dropped, m.settled
	r.mu.Unlock()
	if m.memberToken != "" {
		// Its Send and Leave find no membership from now on.
		s.joined.remove(m.memberToken, m)
	}
	if settled != nil {
		<-settled
	}
	s.mu.Lock()
	r.mu.Lock()
	unload := s.retireIfEmptyLocked(r)
	r.mu.Unlock()
	s.mu.Unlock()
	if unload {
		s.unload(r)
	}
	return dropped
}

// read handles the client's messages until the stream fails or a message is
// invalid. A client that closes its sending side (io.EOF) stays a member and
// keeps receiving: that is how a listen-only client may behave.
func (s *Service) read(stream grpc.ServerStream, m *member, log *slog.Logger) {
	for {
		in := new(incoming)
		err := stream.RecvMsg(in)
		if errors.Is(err, io.EOF) {
			log.Debug("client closed its sending side; still delivering")
			return
		}
		if err != nil {
			// gRPC has already ended the stream with err's status (for
			// example RESOURCE_EXHAUSTED for a message over the receive
			// limit); the handler reports the same.
			m.end(err)
			return
		}
		if in.err != nil {
			m.end(status.Error(codes.InvalidArgument, "message is not valid UTF-8/protobuf"))
			return
		}
		if err := s.handle(m, in.ChatMessage, log); err != nil {
			var muted *mutedError
			if errors.As(err, &muted) {
				s.refuse(m, in.GetClientMsgId(), muted)
				continue
			}
			if errors.Is(err, errLeave) {
				m.quit.Store(true)
				// The member asked to leave: it still gets what was queued
				// for it so far (its welcome, say), then the stream ends OK.
				if !m.push(leaveMarker) {
					m.end(nil)
				}
				return
			}
			m.end(err)
			return
		}
	}
}

// errLeave is what handle returns for a KIND_LEAVE message: the member asked
// to leave, after everything it sent before.
var errLeave = errors.New("client asked to leave")

// handle validates one client message and relays it.
func (s *Service) handle(m *member, in *chatpb.ChatMessage, log *slog.Logger) error {
	kind := in.GetKind()
	switch kind {
	case chatpb.ChatMessage_KIND_UNSPECIFIED, chatpb.ChatMessage_KIND_TEXT,
		chatpb.ChatMessage_KIND_ACTION, chatpb.ChatMessage_KIND_PRIVATE:
	case chatpb.ChatMessage_KIND_LEAVE:
		return errLeave
	default:
		return status.Errorf(codes.InvalidArgument,
			"a client may only send KIND_TEXT, KIND_ACTION, KIND_PRIVATE or KIND_LEAVE messages, not %s", kind)
	}
	if m.limiter != nil && !m.limiter.Allow() {
		s.metrics.RateLimited()
		log.Warn("client sending too fast; disconnecting", "user", m.currentName(), "room", m.room.name,
			"rate", s.cfg.Rate, "burst", s.cfg.Burst)
		return s.errTooFast
	}
	// One trailing line ending is the sender's way of ending a line, not
	// part of the text; trimmed before the limits apply.
	in.Message = trimLineEnding(in.GetMessage())
	// Every length is checked before any field is echoed in an error.
	room, text := in.GetRoom(), in.GetMessage()
	if kind != chatpb.ChatMessage_KIND_PRIVATE && in.GetRecipient() != "" {
		// Refused rather than ignored: relaying to the whole room what the
		// sender meant for one member would be the worst way to fail.
		return status.Error(codes.InvalidArgument, "only a KIND_PRIVATE message may name a recipient")
	}
	if len(room) > s.cfg.MaxNameBytes {
		return status.Errorf(codes.InvalidArgument, "message room is %d bytes; the limit is %d bytes", len(room), s.cfg.MaxNameBytes)
	}
	if len(text) > s.cfg.MaxMessageBytes {
		return s.tooLong(len(text))
	}
	if err := checkClientMsgID(in.GetClientMsgId()); err != nil {
		return err
	}
	if room != "" && room != m.room.name {
		return status.Errorf(codes.InvalidArgument, "message is for room %q but this stream is in room %q; open a new stream to change rooms", clip(room), m.room.name)
	}
	if !m.named && in.GetUser() != "" { // a signed-in member is always named
		name, err := s.cleanName("user", in.GetUser())
		if err != nil {
			return err
		}
		if name != "" {
			s.rename(m, name, log)
		}
	}
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if err := s.checkMuted(m); err != nil {
		return err
	}
	if kind == chatpb.ChatMessage_KIND_PRIVATE {
		s.whisper(m, in, log)
		return nil
	}
	s.say(m, in, log)
	return nil
}

// rename gives m a distinct form of want and tells the room, m included, so
// that m learns the name it got. The name is claimed in the broker on the
// room's broker work, without the room lock; m's next message waits for it.
func (s *Service) rename(m *member, want string, log *slog.Logger) {
	r := m.room
	r.mu.Lock()
	m.named = true
	if m.left || r.closed || want == m.name || m.sess.rec == nil {
		r.mu.Unlock()
		return
	}
	sess := m.sess
	rec := sess.rec
	done := r.offLockLocked(func() {
		r.mu.Lock()
		gone := m.left || r.closed // the message is not relayed either
		r.mu.Unlock()
		if gone {
			return
		}
		var name string
		s.updateMember(r, sess, rec, func(next *broker.Member) error {
			var err error
			name, err = s.distinctInBroker(want, func(name string) bool { return r.takenFrom(m, name) },
				func(ctx context.Context, name string) error {
					return s.broker.Rename(ctx, next, name, names.Skeleton(name))
				})
			if err != nil {
				log.Error("cannot rename a member in the broker", "room", r.name, "err", err)
			}
			return err
		})
		if name != "" {
			s.renamed(r, m, name, log)
		}
	})
	r.mu.Unlock()
	<-done
}

// renamed gives m, renamed in the broker, its new name here and tells the
// room.
func (s *Service) renamed(r *room, m *member, name string, log *slog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := m.name
	if r.names[m.key] == m {
		r.dropName(m)
		m.name = name
		r.addName(m)
	} else {
		m.name = name
	}
	if r.closed || m.left {
		return
	}
	log.Info("client renamed", "room", r.name, "from", old, "to", m.name)
	s.announceLocked(r, chatpb.ChatMessage_KIND_SYSTEM, fmt.Sprintf("%s is now known as %s", old, m.name), nil)
}

// admit locks m's room and reports whether in, from m, is to be relayed:
// m is still in the room and has not sent in's client_msg_id before. It
// counts the message. On true the caller holds the room lock and must
// release it; on false it is released.
func (s *Service) admit(m *member, in *chatpb.ChatMessage, log *slog.Logger) bool {
	r := m.room
	r.mu.Lock()
	if m.left || r.closed {
		r.mu.Unlock()
		return false
	}
	if id := in.GetClientMsgId(); id != "" && !m.sess.seen.add(id) {
		// Sent before, and its send was cut off mid-way: already relayed.
		r.mu.Unlock()
		log.Debug("repeated message dropped", "room", r.name, "user", m.name)
		return false
	}
	s.metrics.MessageReceived()
	return true
}

// say relays a text message or an action to everyone in m's room but m,
// through the broker, which keeps it in the history; it is logged (room,
// user, size and id; the text itself is never logged) once stored, off the
// room lock, so a slow log destination never holds up the room.
func (s *Service) say(m *member, in *chatpb.ChatMessage, log *slog.Logger) {
	// Before the room lock: a sender waits while its room catches up.
	s.pace(m)
	if !s.admit(m, in, log) {
		return
	}
	r := m.room
	kind, text := chatpb.ChatMessage_KIND_TEXT, in.GetMessage()
	if in.GetKind() == chatpb.ChatMessage_KIND_ACTION {
		kind, text = chatpb.ChatMessage_KIND_ACTION, actionText(m.name, text)
	}
	msg := s.message(r.name, m.name, kind, text, in.GetClientSentAt())
	msg.ClientMsgId = in.GetClientMsgId()
	s.publishLocked(r, m, msg, log)
	r.mu.Unlock()
}
