package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/polychat/polychat/gen/go/polychat/auth/v1"
	"github.com/polychat/polychat/server/limits"
)

// Options configures a Server.
type Options struct {
	// Addr is the TCP address to listen on.
	Addr string
	// GRPC is the server whose ChatService answers the browsers' calls.
	GRPC *grpc.Server
	// SignIn, when sign-in is required, is the AuthService the page's
	// Login and Logout are forwarded to; nil serves neither.
	SignIn authv1.AuthServiceClient
	// TLS, when set, serves HTTPS (HTTP/2 and HTTP/1.1) with it; nil
	// serves plain HTTP.
	TLS *tls.Config
	// MaxRequestBytes limits a request body (one request message).
	MaxRequestBytes int
	// MaxHeaderBytes limits a request's header.
	MaxHeaderBytes int
	// MaxConnections and MaxConnectionsPerIP limit the open connections of
	// the web port, all and from one IP address (0: no limit).
	MaxConnections, MaxConnectionsPerIP int
	// HeaderTimeout bounds the time a new request has to send its header
	// (and a TLS connection its handshake).
	HeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request for that
	// long (0: never).
	IdleTimeout time.Duration
	// UserTimeout is how long sent data may stay unacknowledged before the
	// connection is dropped as dead (Linux only; 0: the system's default).
	UserTimeout time.Duration
	// Logger receives the errors of the HTTP server. Nil means slog.Default().
	Logger *slog.Logger
}

// Server is the web port: the chat page and the browsers' RPCs.
type Server struct {
	lis net.Listener
	srv *http.Server
	tls bool
}

// ListenError reports that the web port could not be listened on.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("cannot listen for the chat page on %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// New listens on opts.Addr (a *ListenError when it cannot) and returns the
// server, not yet serving.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h, err := Handler(opts.GRPC, opts.SignIn, opts.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, &ListenError{Addr: opts.Addr, Err: err}
	}
	s := &Server{
		lis: limits.Listener(lis, limits.ListenerOptions{
			Max: opts.MaxConnections, MaxPerIP: opts.MaxConnectionsPerIP,
			HandshakeTimeout: opts.HeaderTimeout, UserTimeout: opts.UserTimeout, Logger: opts.Logger,
		}),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: opts.HeaderTimeout,
			// No ReadTimeout or WriteTimeout: a Join stream lasts as long
			// as the member stays. Idle connections are closed, though.
			IdleTimeout:    opts.IdleTimeout,
			MaxHeaderBytes: opts.MaxHeaderBytes,
			ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		},
	}
	if opts.TLS != nil {
		tc := opts.TLS.Clone()
		tc.NextProtos = []string{"h2", "http/1.1"}
		s.srv.TLSConfig = tc
		s.tls = true
	}
	return s, nil
}

// Addr is the address the web port listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// URL is the page's address as a person on this machine opens it.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	host, port := "localhost", ""
	if a, ok := s.lis.Addr().(*net.TCPAddr); ok {
		port = fmt.Sprint(a.Port)
		if !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// Serve serves until Shutdown or Close; it returns nil once they stop it.
func (s *Server) Serve() error {
	var err error
	if s.tls {
		err = s.srv.ServeTLS(s.lis, "", "")
	} else {
		err = s.srv.Serve(s.lis)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking connections and waits, until ctx is done, for the
// calls in progress to end (Join streams end when the chat shuts down);
// then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) {
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() {
	_ = s.srv.Close()
	_ = s.lis.Close()
}
