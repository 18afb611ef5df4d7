package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/textsafe"
	"github.com/polychat/polychat/server/moderation"
)

// This file is the moderation RPCs: each checks that the caller moderates
// the room, applies the action to the moderation store (which sends it to
// the audit log), and enforces it on this node's members; the other nodes
// enforce it when they read it from the store (see watchModeration).

// MaxRestriction is the longest mute or timed ban.
const MaxRestriction = 366 * 24 * time.Hour

// errNoModerators answers a moderation RPC on a server without sign-in.
var errNoModerators = status.Error(codes.FailedPrecondition,
	"this server has no moderators: it does not require sign-in")

// moderationRequest is what every moderation RPC checks first: who asks,
// in which room, about whom.
type moderationRequest struct {
	actor, room, target string
}

// checkModeration returns the caller and the room and target of a
// moderation request of kind k (target "" for Topic), or the status to
// answer: FAILED_PRECONDITION without sign-in, UNAUTHENTICATED,
// INVALID_ARGUMENT for a bad name, PERMISSION_DENIED naming what the
// caller would need.
func (s *Service) checkModeration(ctx context.Context, k moderation.Kind, room, target string) (moderationRequest, error) {
	if s.cfg.Auth == nil {
		return moderationRequest{}, errNoModerators
	}
	actor, err := s.signedInUser(ctx)
	if err != nil {
		return moderationRequest{}, err
	}
	if room, err = s.cleanName("room", room); err != nil {
		return moderationRequest{}, err
	}
	if room == "" {
		room = chatwire.DefaultRoom
	}
	if k != moderation.Topic {
		if target, err = s.cleanName("user", target); err != nil {
			return moderationRequest{}, err
		}
		if target == "" {
			return moderationRequest{}, status.Errorf(codes.InvalidArgument, "name the user to %s", k)
		}
	}
	if err := s.roles.Check(ctx, k, room, actor, target); err != nil {
		var denied *moderation.DeniedError
		if errors.As(err, &denied) {
			return moderationRequest{}, status.Error(codes.PermissionDenied, denied.Reason)
		}
		return moderationRequest{}, s.moderationUnavailable(err)
	}
	return moderationRequest{actor: actor, room: room, target: target}, nil
}

// cleanReason checks a reason or topic: one line of printable text within
// the message limit.
func (s *Service) cleanReason(what, v string) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		return "", status.Errorf(codes.InvalidArgument, "%s is not valid UTF-8", what)
	}
	if len(v) > s.cfg.MaxMessageBytes {
		return "", status.Errorf(codes.InvalidArgument, "%s is %d bytes; the limit is %d bytes", what, len(v), s.cfg.MaxMessageBytes)
	}
	if r, bad := textsafe.FirstUnsafe(v); bad {
		return "", status.Errorf(codes.InvalidArgument, "%s contains the control character %U; use one line of printable characters", what, r)
	}
	return v, nil
}

// checkDuration returns d as a time.Duration, or INVALID_ARGUMENT unless
// it is a whole number of seconds from one second to MaxRestriction.
// Optional durations are unset (nil) rather than checked.
func checkDuration(what string, d *durationpb.Duration) (time.Duration, error) {
	if err := d.CheckValid(); err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "%s is not a valid duration", what)
	}
	v := d.AsDuration()
	if v < time.Second || v > MaxRestriction {
		return 0, status.Errorf(codes.InvalidArgument, "%s must be from 1s to %s, not %s",
			what, formatDuration(MaxRestriction), formatDuration(v))
	}
	return v.Truncate(time.Second), nil
}

// apply stores a and enforces it on this node, returning a (with its id)
// and whether it changed anything, and how many of the target's
// memberships it ends: here, and on the other nodes of a cluster (each
// ends its own when it reads a from the log).
func (s *Service) apply(ctx context.Context, a moderation.Action) (moderation.Action, bool, int, error) {
	elsewhere := 0
	if a.Kind == moderation.Kick || a.Kind == moderation.Ban {
		elsewhere = s.membershipsElsewhere(a.Room, a.Target)
	}
	a, changed, err := s.moderation.Apply(ctx, a)
	if err != nil {
		return a, false, 0, s.moderationUnavailable(err)
	}
	ended := 0
	if changed || a.Kind == moderation.Kick {
		ended = s.enforce(a) + elsewhere
	}
	s.notifyAudit()
	s.log.Info("moderation", "action", a.Kind, "room", a.Room, "actor", a.Actor, "target", a.Target)
	return a, changed, ended, nil
}

// membershipsElsewhere counts user's connected memberships of room on the
// other nodes of the cluster (0 when the broker cannot say: the action
// goes ahead all the same).
func (s *Service) membershipsElsewhere(room, user string) int {
	ctx, cancel := brokerCtx()
	defer cancel()
	ms, err := s.broker.RoomMembers(ctx, room)
	if err != nil {
		s.log.Warn("cannot count a member's memberships on other nodes", "room", room, "err", err)
		return 0
	}
	self, n := s.broker.Node(), 0
	for _, m := range ms {
		if m.User == user && m.Node != self && m.Connected() {
			n++
		}
	}
	return n
}

// notifyAudit wakes the audit sender, if any.
func (s *Service) notifyAudit() {
	if s.cfg.AuditNotify != nil {
		s.cfg.AuditNotify()
	}
}

// Kick implements chatpb.ChatServiceServer.
func (s *Service) Kick(ctx context.Context, req *chatpb.KickRequest) (*chatpb.KickResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Kick, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	reason, err := s.cleanReason("reason", req.GetReason())
	if err != nil {
		return nil, err
	}
	_, _, ended, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Kick, Room: mr.room, Actor: mr.actor, Target: mr.target, Reason: reason, At: s.now(),
	})
	if err != nil {
		return nil, err
	}
	return &chatpb.KickResponse{Memberships: int32(ended)}, nil
}

// Mute implements chatpb.ChatServiceServer.
func (s *Service) Mute(ctx context.Context, req *chatpb.MuteRequest) (*chatpb.MuteResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Mute, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	if req.GetDuration() == nil {
		return nil, status.Error(codes.InvalidArgument, "say how long the mute lasts (duration), e.g. 10m")
	}
	d, err := checkDuration("the mute's duration", req.GetDuration())
	if err != nil {
		return nil, err
	}
	reason, err := s.cleanReason("reason", req.GetReason())
	if err != nil {
		return nil, err
	}
	now := s.now()
	a, _, _, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Mute, Room: mr.room, Actor: mr.actor, Target: mr.target, Reason: reason, At: now, Until: now.Add(d),
	})
	if err != nil {
		return nil, err
	}
	return &chatpb.MuteResponse{Until: timestamppb.New(a.Until)}, nil
}

// Unmute implements chatpb.ChatServiceServer.
func (s *Service) Unmute(ctx context.Context, req *chatpb.UnmuteRequest) (*chatpb.UnmuteResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Unmute, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	_, changed, _, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Unmute, Room: mr.room, Actor: mr.actor, Target: mr.target, At: s.now(),
	})
	if err != nil {
		return nil, err
	}
	return &chatpb.UnmuteResponse{WasMuted: changed}, nil
}

// Ban implements chatpb.ChatServiceServer.
func (s *Service) Ban(ctx context.Context, req *chatpb.BanRequest) (*chatpb.BanResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Ban, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	now := s.now()
	var until time.Time
	if req.GetDuration() != nil {
		d, err := checkDuration("the ban's duration", req.GetDuration())
		if err != nil {
			return nil, err
		}
		until = now.Add(d)
	}
	reason, err := s.cleanReason("reason", req.GetReason())
	if err != nil {
		return nil, err
	}
	a, _, ended, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Ban, Room: mr.room, Actor: mr.actor, Target: mr.target, Reason: reason, At: now, Until: until,
	})
	if err != nil {
		return nil, err
	}
	resp := &chatpb.BanResponse{Memberships: int32(ended)}
	if !a.Until.IsZero() {
		resp.Until = timestamppb.New(a.Until)
	}
	return resp, nil
}

// Unban implements chatpb.ChatServiceServer.
func (s *Service) Unban(ctx context.Context, req *chatpb.UnbanRequest) (*chatpb.UnbanResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Unban, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	_, changed, _, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Unban, Room: mr.room, Actor: mr.actor, Target: mr.target, At: s.now(),
	})
	if err != nil {
		return nil, err
	}
	return &chatpb.UnbanResponse{WasBanned: changed}, nil
}

// Op implements chatpb.ChatServiceServer.
func (s *Service) Op(ctx context.Context, req *chatpb.OpRequest) (*chatpb.OpResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Op, req.GetRoom(), req.GetUser())
	if err != nil {
		return nil, err
	}
	_, changed, _, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Op, Room: mr.room, Actor: mr.actor, Target: mr.target, At: s.now(),
	})
	if err != nil {
		return nil, err
	}
	return &chatpb.OpResponse{Granted: changed}, nil
}

// SetTopic implements chatpb.ChatServiceServer.
func (s *Service) SetTopic(ctx context.Context, req *chatpb.SetTopicRequest) (*chatpb.SetTopicResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Topic, req.GetRoom(), "")
	if err != nil {
		return nil, err
	}
	topic, err := s.cleanReason("topic", req.GetTopic())
	if err != nil {
		return nil, err
	}
	if _, _, _, err := s.apply(ctx, moderation.Action{
		Kind: moderation.Topic, Room: mr.room, Actor: mr.actor, Reason: topic, At: s.now(),
	}); err != nil {
		return nil, err
	}
	return &chatpb.SetTopicResponse{}, nil
}

// ListBans implements chatpb.ChatServiceServer. Only moderators see the
// bans: who was banned, and why, is theirs to know.
func (s *Service) ListBans(ctx context.Context, req *chatpb.ListBansRequest) (*chatpb.ListBansResponse, error) {
	mr, err := s.checkModeration(ctx, moderation.Topic, req.GetRoom(), "")
	if err != nil {
		return nil, err
	}
	bans, err := s.moderation.Bans(ctx, mr.room, s.now())
	if err != nil {
		return nil, s.moderationUnavailable(err)
	}
	resp := &chatpb.ListBansResponse{}
	for _, b := range bans {
		rb := &chatpb.RoomBan{User: b.User, By: b.By, Reason: b.Reason, Since: timestamppb.New(b.Since)}
		if !b.Until.IsZero() {
			rb.Until = timestamppb.New(b.Until)
		}
		resp.Bans = append(resp.Bans, rb)
	}
	return resp, nil
}

// watchModeration has the actions other nodes apply enforced here, when
// the store is shared.
func (s *Service) watchModeration() {
	w, ok := s.moderation.(interface{ Watch(func(moderation.Action)) })
	if !ok {
		return
	}
	self := s.broker.Node()
	w.Watch(func(a moderation.Action) {
		if a.Node != self {
			s.enforce(a)
		}
	})
}

// enforce tells a, just applied, to this node's members of its room, and
// for a kick or a ban ends the target's memberships here (after the
// notice) with PERMISSION_DENIED: they leave, and cannot resume. It
// returns how many memberships it ended.
func (s *Service) enforce(a moderation.Action) int {
	s.mu.Lock()
	r := s.rooms[a.Room]
	if r == nil {
		s.mu.Unlock()
		return 0
	}
	r.mu.Lock()
	s.mu.Unlock()
	defer r.mu.Unlock()
	if r.closed {
		return 0
	}
	notice := encode(s.message(r.name, SystemUser, chatpb.ChatMessage_KIND_MODERATION, describeAction(a), nil))
	if a.Kind != moderation.Kick && a.Kind != moderation.Ban {
		s.deliverLocked(r, notice, nil)
		return 0
	}
	var targets []*member
	for _, m := range r.members {
		if m.sess != nil && m.sess.user == a.Target {
			targets = append(targets, m)
		}
	}
	why := status.Error(codes.PermissionDenied, describeRemoval(a))
	for _, m := range targets {
		// Out of the room first, so that the notice below reaches the
		// target once, from its own queue, just before its stream ends.
		m.quit.Store(true)
		s.removeLocked(r, m)
		if !m.push(notice) || !m.push(&outgoing{ends: why}) {
			m.end(why)
		}
	}
	s.deliverLocked(r, notice, nil)
	return len(targets)
}

// describeAction is the room's notice of a: "alice kicked bob: spam",
// "alice muted bob for 10m", "Topic: release on Friday".
func describeAction(a moderation.Action) string {
	var text string
	switch a.Kind {
	case moderation.Kick:
		text = a.Actor + " kicked " + a.Target
	case moderation.Mute:
		text = a.Actor + " muted " + a.Target + " for " + formatDuration(a.Until.Sub(a.At))
	case moderation.Unmute:
		return a.Actor + " unmuted " + a.Target
	case moderation.Ban:
		text = a.Actor + " banned " + a.Target
		if !a.Until.IsZero() {
			text += " for " + formatDuration(a.Until.Sub(a.At))
		}
	case moderation.Unban:
		return a.Actor + " lifted the ban of " + a.Target
	case moderation.Op:
		return a.Actor + " made " + a.Target + " an owner of " + a.Room
	case moderation.Topic:
		if a.Reason == "" {
			return a.Actor + " cleared the topic"
		}
		return "Topic: " + a.Reason + " (set by " + a.Actor + ")"
	}
	if a.Reason != "" {
		text += ": " + a.Reason
	}
	return text
}

// describeRemoval is the status a kicked or banned member's stream ends
// with: "kicked from general by alice: spam".
func describeRemoval(a moderation.Action) string {
	if a.Kind == moderation.Ban {
		return "you are " + describeBan(moderation.Restriction{
			Kind: a.Kind, Room: a.Room, User: a.Target, By: a.Actor, Reason: a.Reason, Since: a.At, Until: a.Until,
		})
	}
	text := "kicked from " + a.Room + " by " + a.Actor
	if a.Reason != "" {
		text += ": " + a.Reason
	}
	return text
}

// formatDuration writes d as the commands take it: 2d, 1h30m, 10m, 45s.
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

// mutedError refuses a muted member's message: on a ChatStream the member
// gets KIND_REFUSED and the stream goes on; Send answers PERMISSION_DENIED.
type mutedError struct {
	mute moderation.Restriction
}

func (e *mutedError) Error() string {
	return "Not sent: you are muted in " + e.mute.Room + " until " + e.mute.Until.UTC().Format("2006-01-02 15:04:05 UTC")
}

// GRPCStatus is the status Send answers: PERMISSION_DENIED with the
// Refusal among its details, so that a client tells a refused message from
// a membership it may no longer use.
func (e *mutedError) GRPCStatus() *status.Status {
	st := status.New(codes.PermissionDenied, e.Error())
	if withRefusal, err := st.WithDetails(e.refusal()); err == nil {
		return withRefusal
	}
	return st
}

// refusal is the Refusal of a muted member's message.
func (e *mutedError) refusal() *chatpb.Refusal {
	return &chatpb.Refusal{Reason: chatpb.Refusal_REASON_MUTED, Until: timestamppb.New(e.mute.Until)}
}

// checkMuted returns a *mutedError if m may not speak in its room now.
func (s *Service) checkMuted(m *member) error {
	if m.sess == nil || m.sess.user == "" {
		return nil
	}
	mute, muted, err := s.moderation.Restriction(context.Background(), moderation.Mute, m.room.name, m.sess.user, s.now())
	if err != nil {
		// The store answers from memory; an error would be a bug, and
		// silencing everyone for it would be worse than letting one
		// muted member through.
		s.log.Error("moderation store: mute lookup", "err", err)
		return nil
	}
	if !muted {
		return nil
	}
	return &mutedError{mute: mute}
}

// refuse tells m, whose message with client_msg_id id was refused by e,
// why; its stream goes on.
func (s *Service) refuse(m *member, id string, e *mutedError) {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.left {
		return
	}
	msg := s.message(r.name, SystemUser, chatpb.ChatMessage_KIND_REFUSED, e.Error(), nil)
	msg.ClientMsgId = id
	msg.Refusal = e.refusal()
	if !m.push(encode(msg)) {
		s.disconnectSlowLocked(r, []*member{m})
	}
}
