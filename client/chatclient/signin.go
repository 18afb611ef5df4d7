package chatclient

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/textsafe"
	"github.com/polychat/polychat/internal/tlsconfig"
)

// SignInError reports that signing in failed: a wrong password, or a chat
// server that does not accept the session.
type SignInError struct {
	// Message says why, e.g. "invalid username or password".
	Message string
}

// Error returns "sign-in failed: <message>".
func (e *SignInError) Error() string { return "sign-in failed: " + e.Message }

// AuthConfig says how to reach the AuthService.
type AuthConfig struct {
	// Server is the AuthService's address. Empty means chatwire.DefaultAuthServer.
	Server string
	// TLS secures the connection; nil means plaintext.
	TLS *tls.Config
	// Timeout bounds each call. Zero means DefaultConnectTimeout.
	Timeout time.Duration
	// DialOptions are added after the client's own options.
	DialOptions []grpc.DialOption
}

func (c AuthConfig) withDefaults() AuthConfig {
	if c.Server == "" {
		c.Server = chatwire.DefaultAuthServer
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultConnectTimeout
	}
	return c
}

func (c AuthConfig) dial() (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(c.Server, append([]grpc.DialOption{grpc.WithTransportCredentials(tlsconfig.Credentials(c.TLS))}, c.DialOptions...)...)
	if err != nil {
		return nil, &ServerError{Service: "auth server", Server: c.Server, Reason: textsafe.Sanitize(err.Error()), Err: err}
	}
	return conn, nil
}

// Login signs username in with password at the AuthService and returns the
// session token. A wrong password (or unknown user) is a *SignInError
// "invalid username or password"; an unreachable server a *ServerError.
func Login(ctx context.Context, cfg AuthConfig, username, password string) (string, error) {
	cfg = cfg.withDefaults()
	conn, err := cfg.dial()
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	resp, err := authv1.NewAuthServiceClient(conn).Login(ctx, &authv1.LoginRequest{Username: username, Password: password})
	if err != nil {
		st := status.Convert(err)
		switch st.Code() {
		case codes.Unauthenticated:
			return "", &SignInError{Message: "invalid username or password"}
		case codes.Unavailable, codes.DeadlineExceeded:
			return "", &ServerError{Service: "auth server", Server: cfg.Server, Reason: reason(err), Err: err}
		}
		return "", &SignInError{Message: textsafe.Sanitize(st.Message())}
	}
	if resp.GetSessionId() == "" {
		return "", &SignInError{Message: "the auth server returned no session"}
	}
	return resp.GetSessionId(), nil
}

// Logout ends the session of token at the AuthService.
func Logout(ctx context.Context, cfg AuthConfig, token string) error {
	cfg = cfg.withDefaults()
	conn, err := cfg.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	_, err = authv1.NewAuthServiceClient(conn).Logout(ctx, &authv1.LogoutRequest{SessionId: token})
	return err
}
