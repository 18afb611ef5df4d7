package chat

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/moderation"
)

// moderationStore returns cfg's moderation store, or one in memory.
func moderationStore(cfg Config) moderation.Store {
	if cfg.Moderation != nil {
		return cfg.Moderation
	}
	return moderation.NewMemory()
}

// GetRoles implements chatpb.ChatServiceServer.
func (s *Service) GetRoles(ctx context.Context, req *chatpb.GetRolesRequest) (*chatpb.GetRolesResponse, error) {
	user, err := s.signedInUser(ctx)
	if err != nil {
		return nil, err
	}
	room, err := s.cleanName("room", req.GetRoom())
	if err != nil {
		return nil, err
	}
	if room == "" {
		room = chatwire.DefaultRoom
	}
	if s.cfg.Auth == nil {
		// Roles belong to signed-in names, which nobody else can take.
		return &chatpb.GetRolesResponse{}, nil
	}
	owners, err := s.moderation.Owners(ctx, room)
	if err != nil {
		return nil, s.moderationUnavailable(err)
	}
	role, err := s.roles.Of(ctx, room, user)
	if err != nil {
		return nil, s.moderationUnavailable(err)
	}
	topic, err := s.moderation.Topic(ctx, room)
	if err != nil {
		return nil, s.moderationUnavailable(err)
	}
	return &chatpb.GetRolesResponse{
		Moderation:  true,
		Admins:      s.roles.Admins(),
		Owners:      owners,
		CanModerate: role != moderation.Member,
		Topic:       topic,
	}, nil
}

// checkBan refuses a join or resume of user ("" without sign-in, when
// nobody is banned) to room while a ban holds.
func (s *Service) checkBan(ctx context.Context, room, user string) error {
	if user == "" {
		return nil
	}
	ban, banned, err := s.moderation.Restriction(ctx, moderation.Ban, room, user, s.now())
	if err != nil {
		return s.moderationUnavailable(err)
	}
	if !banned {
		return nil
	}
	return status.Error(codes.PermissionDenied, "you are "+describeBan(ban))
}

// describeBan says what ban is: "banned from room general until 14:05 UTC
// by alice: spam".
func describeBan(ban moderation.Restriction) string {
	text := "banned from room " + ban.Room
	if ban.Until.IsZero() {
		text += " until an owner lifts the ban"
	} else {
		text += " until " + ban.Until.UTC().Format("2006-01-02 15:04 UTC")
	}
	text += " by " + ban.By
	if ban.Reason != "" {
		text += ": " + ban.Reason
	}
	return text
}

// claimRoom makes user ("" without sign-in, when nobody owns rooms) the
// owner of room if it is not open and has no owner: a room's creator owns
// it. It runs before the join, so that the creator owns the room by the
// time its welcome arrives; two creators at once make one owner.
func (s *Service) claimRoom(ctx context.Context, room, user string) {
	if user == "" {
		return
	}
	s.mu.Lock()
	open := s.rooms[room] != nil
	s.mu.Unlock()
	if open {
		return
	}
	claimed, err := s.moderation.Claim(ctx, room, user, time.Now())
	if err != nil {
		// The join goes on; only the ownership waits for a later creator.
		s.log.Error("moderation store: claim room", "room", room, "err", err)
		return
	}
	if claimed {
		s.log.Info("room owner", "room", room, "user", user)
	}
}

// moderationUnavailable logs err, a failure of the moderation store, and
// returns the status the caller gets.
func (s *Service) moderationUnavailable(err error) error {
	s.log.Error("moderation store", "err", err)
	return status.Error(codes.Unavailable, "the server cannot read its moderation records just now; try again")
}
