package chat

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/polychat/polychat/internal/chatwire"
)

// Authenticator checks session tokens when sign-in is required.
type Authenticator interface {
	// Authenticate returns the user name signed in with token. Its errors
	// are gRPC statuses fit to return to the client: UNAUTHENTICATED for a
	// token that is invalid or expired, UNAVAILABLE when it cannot tell.
	Authenticate(ctx context.Context, token string) (user string, err error)
}

var errNoToken = status.Error(codes.Unauthenticated, "sign in first: missing bearer token")

// bearerToken returns the token of the stream's "authorization: Bearer
// <token>" metadata, or "" when there is none.
func bearerToken(ctx context.Context) string {
	v := metadata.ValueFromIncomingContext(ctx, chatwire.AuthorizationKey)
	if len(v) == 0 {
		return ""
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(v[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// signedInUser returns the name of the user signed in on the stream, when
// sign-in is required, or "" when it is not.
func (s *Service) signedInUser(ctx context.Context) (string, error) {
	if s.cfg.Auth == nil {
		return "", nil
	}
	token := bearerToken(ctx)
	if token == "" {
		return "", errNoToken
	}
	user, err := s.cfg.Auth.Authenticate(ctx, token)
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = status.Error(codes.Unavailable, "cannot check your session: auth service unavailable")
		}
		return "", err
	}
	user, err = s.cleanName("signed-in user name", user)
	if err != nil {
		return "", err
	}
	if user == "" {
		return "", status.Error(codes.Unauthenticated, "session is invalid or expired")
	}
	return user, nil
}
