package web

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
)

// signInTimeout bounds one forwarded Login or Logout.
const signInTimeout = 10 * time.Second

// errSignInUnavailable replaces the AuthService's transport errors, which
// name internal addresses a browser has no business seeing.
var errSignInUnavailable = status.Error(codes.Unavailable, "the sign-in service is unavailable; try again in a moment")

// signIn serves AuthService.Login and Logout to the page by calling the
// AuthService the chat server checks sessions with, so that a browser can
// sign in on the page's own origin. ValidateSession and RegisterUser are
// not offered (UNIMPLEMENTED). Passwords and tokens pass through and are
// never logged.
type signIn struct {
	authv1.UnimplementedAuthServiceServer
	auth authv1.AuthServiceClient
}

// newSignInServer returns a grpc.Server, served only through the web
// handler, that answers Login and Logout by calling auth.
func newSignInServer(auth authv1.AuthServiceClient) *grpc.Server {
	srv := grpc.NewServer()
	authv1.RegisterAuthServiceServer(srv, signIn{auth: auth})
	return srv
}

// Login implements authv1.AuthServiceServer.
func (p signIn) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	resp, err := p.auth.Login(ctx, req)
	return resp, forwarded(err)
}

// Logout implements authv1.AuthServiceServer.
func (p signIn) Logout(ctx context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, signInTimeout)
	defer cancel()
	resp, err := p.auth.Logout(ctx, req)
	return resp, forwarded(err)
}

// forwarded is the AuthService's error as the browser gets it: its own
// statuses as they are, a failure to reach it as errSignInUnavailable.
func forwarded(err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal:
		return errSignInUnavailable
	}
	return err
}
