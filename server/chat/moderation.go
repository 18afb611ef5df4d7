package chat

import (
	"context"

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

// moderationUnavailable logs err, a failure of the moderation store, and
// returns the status the caller gets.
func (s *Service) moderationUnavailable(err error) error {
	s.log.Error("moderation store", "err", err)
	return status.Error(codes.Unavailable, "the server cannot read its moderation records just now; try again")
}
