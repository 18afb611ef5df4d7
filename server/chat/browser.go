package chat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// Join, Send and Leave are the chat for clients that cannot stream both
// ways (web browsers): a server-streaming Join is a ChatStream's downward
// half, and each unary Send one message of its upward half. A Join member
// is a member like any other: the same join, replay, queue, writer and
// leave-or-drop as a ChatStream's; only where its messages come from
// differs. Send and Leave name the membership by a member token, a secret
// of the welcome bound to that one stream.

// memberships are the members of Join streams by the hash of their member
// token. The zero value is ready to use; its lock is taken after any other
// and holds none.
type memberships struct {
	mu   sync.Mutex
	byID map[string]*member
}

// add registers m under token.
func (ms *memberships) add(token string, m *member) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.byID == nil {
		ms.byID = make(map[string]*member)
	}
	ms.byID[tokenID(token)] = m
}

// get returns the member registered under token, or nil.
func (ms *memberships) get(token string) *member {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.byID[tokenID(token)]
}

// remove forgets token, if it is still m's.
func (ms *memberships) remove(token string, m *member) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if id := tokenID(token); ms.byID[id] == m {
		delete(ms.byID, id)
	}
}

// newMemberToken returns a new member token: 128 random bits.
func newMemberToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

var (
	errNoMemberToken = status.Error(codes.InvalidArgument,
		"member_token is required: pass the member_token of your Join stream's welcome")
	errNoMembership = status.Error(codes.NotFound,
		"no membership has this member_token: its Join stream has ended (or the server restarted); Join again, with your resume_token to keep your name, and use the new welcome's member_token")
	errMembershipEnded = status.Error(codes.Unavailable,
		"the membership ended while the message was being sent; Join again and send it again with the same client_msg_id")
	errOtherUser = status.Error(codes.PermissionDenied,
		"this member_token belongs to another user's membership; sign in as that user")
)

// Join implements chatpb.ChatServiceServer: the caller joins the room the
// request names, as a ChatStream joins the one its metadata names, and is
// sent what a ChatStream member is sent until it leaves, the stream is
// cancelled, or the server ends it.
func (s *Service) Join(req *chatpb.JoinRequest, stream grpc.ServerStreamingServer[chatpb.ChatMessage]) (err error) {
	defer func() { s.metrics.StreamEnded(status.Code(err)) }()
	ctx := stream.Context()
	n := s.streams.Add(1)
	addr, ip := peerOf(ctx)
	log := s.log.With("peer", addr, "stream", n, "rpc", "Join")
	log.Info("client connected")

	signedIn, name, roomName, rr, err := s.joinRequest(ctx, req)
	if err != nil {
		log.Info("client rejected", "code", status.Code(err), "reason", status.Convert(err).Message())
		return err
	}
	if name, err = s.streamName(name); err != nil {
		log.Info("client rejected", "code", status.Code(err), "reason", status.Convert(err).Message())
		return err
	}
	heartbeat, err := heartbeatOf(req)
	if err != nil {
		log.Info("client rejected", "code", status.Code(err), "reason", status.Convert(err).Message())
		return err
	}
	rr.memberToken = newMemberToken()
	m, err := s.join(n, addr, ip, roomName, name, rr, stream)
	if err != nil {
		log.Info("client rejected", "code", status.Code(err), "reason", status.Convert(err).Message())
		return err
	}
	log.Info("client joined", "user", m.currentName(), "room", roomName, "signed_in", signedIn != "", "resumed", m.resumed)
	return s.stay(ctx, m, log, heartbeat)
}

// maxHeartbeatSeconds is the longest heartbeat interval a Join may ask for.
const maxHeartbeatSeconds = 3600

// heartbeatOf returns the heartbeat interval req asks for, 0 for none.
func heartbeatOf(req *chatpb.JoinRequest) (time.Duration, error) {
	n := req.GetHeartbeatSeconds()
	if n > maxHeartbeatSeconds {
		return 0, status.Errorf(codes.InvalidArgument,
			"heartbeat_seconds must be 0 (no heartbeats) to %d, not %d", maxHeartbeatSeconds, n)
	}
	return time.Duration(n) * time.Second, nil
}

// heartbeatMessage is a KIND_HEARTBEAT for a member of room: no id, no
// seq, so that no client counts or keeps it.
func heartbeatMessage(room string) *outgoing {
	now := time.Now()
	return encode(&chatpb.ChatMessage{
		Kind:      chatpb.ChatMessage_KIND_HEARTBEAT,
		Room:      room,
		Timestamp: now.Unix(),
		SentAt:    timestamppb.New(now),
	})
}

// joinRequest validates req: the signed-in user ("" without sign-in), the
// name to ask for ("" when none was), the room, and what to resume.
func (s *Service) joinRequest(ctx context.Context, req *chatpb.JoinRequest) (signedIn, name, room string, rr resumeRequest, err error) {
	if signedIn, err = s.signedInUser(ctx); err != nil {
		return "", "", "", rr, err
	}
	name = signedIn
	if signedIn == "" {
		if name, err = s.cleanName("name (user)", req.GetUser()); err != nil {
			return "", "", "", rr, err
		}
	}
	if room, err = s.cleanName("room", req.GetRoom()); err != nil {
		return "", "", "", rr, err
	}
	if room == "" {
		room = chatwire.DefaultRoom
	}
	if rr.from, err = resumePointOf(req); err != nil {
		return "", "", "", rr, err
	}
	rr.token, rr.user, rr.named = req.GetResumeToken(), signedIn, name != ""
	return signedIn, name, room, rr, nil
}

// resumePointOf returns the resume point req names, or nil for none.
func resumePointOf(req *chatpb.JoinRequest) (*resumePoint, error) {
	epoch, seq := req.GetResumeEpoch(), req.GetResumeSeq()
	switch {
	case epoch == "" && seq != 0:
		return nil, status.Error(codes.InvalidArgument, "resume_seq needs the resume_epoch it was counted in")
	case epoch == "":
		return nil, nil
	case len(epoch) > maxEpochBytes || !epochChars(epoch):
		return nil, status.Errorf(codes.InvalidArgument,
			"resume_epoch must be an epoch as the server sent it: 1 to %d letters, digits, '-' or '_'", maxEpochBytes)
	}
	return &resumePoint{epoch: epoch, seq: seq}, nil
}

// Send implements chatpb.ChatServiceServer: the message is checked and
// relayed as a ChatStream member's would be. Bad input fails this call
// only; sending faster than the rate limit also ends the membership, as
// it ends a ChatStream.
func (s *Service) Send(ctx context.Context, req *chatpb.SendRequest) (*chatpb.SendResponse, error) {
	m, log, err := s.membership(ctx, req.GetMemberToken())
	if err != nil {
		return nil, err
	}
	switch k := req.GetKind(); k {
	case chatpb.ChatMessage_KIND_UNSPECIFIED, chatpb.ChatMessage_KIND_TEXT,
		chatpb.ChatMessage_KIND_ACTION, chatpb.ChatMessage_KIND_PRIVATE:
	default:
		return nil, status.Errorf(codes.InvalidArgument,
			"Send takes KIND_TEXT, KIND_ACTION or KIND_PRIVATE messages, not %s; call Leave to leave", k)
	}
	in := &chatpb.ChatMessage{
		Message:      req.GetMessage(),
		Kind:         req.GetKind(),
		Recipient:    req.GetRecipient(),
		ClientMsgId:  req.GetClientMsgId(),
		ClientSentAt: req.GetClientSentAt(),
	}
	if err := s.handle(m, in, log); err != nil {
		if s.errTooFast != nil && err == s.errTooFast {
			m.end(err)
		}
		return nil, err
	}
	// A member that left meanwhile may not have relayed it; the client
	// sends it again after joining again, and the id keeps it to once.
	m.room.mu.Lock()
	left := m.left
	m.room.mu.Unlock()
	if left {
		return nil, errMembershipEnded
	}
	return &chatpb.SendResponse{}, nil
}

// Leave implements chatpb.ChatServiceServer: the member leaves as after a
// KIND_LEAVE message, once what was queued for it is sent. A member whose
// stream dropped first, and is in its grace period, leaves at once.
func (s *Service) Leave(ctx context.Context, req *chatpb.LeaveRequest) (*chatpb.LeaveResponse, error) {
	if g := s.gone.get(req.GetMemberToken()); g != nil {
		// Its stream ended before this call came (a page going away ends
		// both at once): the grace period it is in ends now.
		signedIn, err := s.signedInUser(ctx)
		if err != nil {
			return nil, err
		}
		if !s.ownedBy(g, signedIn) {
			return nil, errOtherUser
		}
		s.expire(g.sess, g)
		return &chatpb.LeaveResponse{}, nil
	}
	m, log, err := s.membership(ctx, req.GetMemberToken())
	if err != nil {
		return nil, err
	}
	log.Debug("client asked to leave")
	m.quit.Store(true)
	if !m.push(leaveMarker) {
		m.end(nil)
	}
	return &chatpb.LeaveResponse{}, nil
}

// membership returns the Join member token names, and a logger for it,
// after checking the call's sign-in as a stream's would be: with sign-in
// required, only the signed-in user of the membership may use it.
func (s *Service) membership(ctx context.Context, token string) (*member, *slog.Logger, error) {
	if token == "" {
		return nil, nil, errNoMemberToken
	}
	signedIn, err := s.signedInUser(ctx)
	if err != nil {
		return nil, nil, err
	}
	m := s.joined.get(token)
	if m == nil {
		return nil, nil, errNoMembership
	}
	if !s.ownedBy(m, signedIn) {
		return nil, nil, errOtherUser
	}
	addr, _ := peerOf(ctx)
	return m, s.log.With("peer", addr, "stream", m.stream), nil
}

// ownedBy reports whether signedIn, the call's signed-in user, may use
// m's membership: anyone may without sign-in required, as with any stream.
func (s *Service) ownedBy(m *member, signedIn string) bool {
	return s.cfg.Auth == nil || m.sess.user == signedIn
}
