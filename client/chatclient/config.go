package chatclient

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/textsafe"
)

// Defaults used when a Config leaves a field empty; the server, room and
// auth server defaults are package chatwire's.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultLeaveTimeout   = 2 * time.Second
)

// Config describes one chat session.
type Config struct {
	// Server is the address of the chat server, as grpc.NewClient takes it.
	// Empty means chatwire.DefaultServer.
	Server string
	// StreamingServer is the address of StreamingService, which /send and
	// /get move files through. Empty means chatwire.DefaultStreamingServer.
	StreamingServer string
	// Name is the name to ask for. Empty lets the server assign Client(N).
	Name string
	// Room is the room to join. Empty means chatwire.DefaultRoom.
	Room string
	// ConnectTimeout bounds how long opening the stream may take.
	// Zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// LeaveTimeout bounds how long leaving waits for the server to end the
	// stream, so that the others see the leave notice. Zero means
	// DefaultLeaveTimeout.
	LeaveTimeout time.Duration
	// Banner, when not empty, is written to the output once the stream is
	// open, before any message (e.g. a hint on a terminal).
	Banner string
	// TLS secures the connection (see package tlsconfig); nil means
	// plaintext.
	TLS *tls.Config
	// Token, when not empty, is a session token sent as "authorization:
	// Bearer <token>" metadata, for a server that requires sign-in.
	Token string
	// DialOptions are added after the client's own options (transport
	// credentials), e.g. a bufconn dialer in tests.
	DialOptions []grpc.DialOption
	// Reconnect makes Run ride out a lost connection once the session has
	// started: it reconnects by itself on Backoff's schedule, resumes the
	// membership and the room's message stream where it left off, and
	// sends the lines typed meanwhile. When false, a lost connection ends
	// Run as before.
	Reconnect bool
	// Backoff is the schedule of attempts to reconnect. Fields left zero
	// take the values of ReconnectBackoff(Backoff.MaxDelay).
	Backoff backoff.Config

	// random replaces the backoff's randomness, in tests.
	random func() float64
	// maxPending replaces chatwire.MaxPendingLines, in tests.
	maxPending int
}

func withDefaults(cfg Config) Config {
	if cfg.Server == "" {
		cfg.Server = chatwire.DefaultServer
	}
	if cfg.StreamingServer == "" {
		cfg.StreamingServer = chatwire.DefaultStreamingServer
	}
	cfg.Room = strings.TrimSpace(cfg.Room)
	if cfg.Room == "" {
		cfg.Room = chatwire.DefaultRoom
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = DefaultLeaveTimeout
	}
	def := ReconnectBackoff(cfg.Backoff.MaxDelay)
	if cfg.Backoff.BaseDelay <= 0 {
		cfg.Backoff.BaseDelay = def.BaseDelay
	}
	if cfg.Backoff.Multiplier <= 0 {
		cfg.Backoff.Multiplier = def.Multiplier
	}
	if cfg.Backoff.Jitter <= 0 {
		cfg.Backoff.Jitter = def.Jitter
	}
	cfg.Backoff.MaxDelay = def.MaxDelay
	if cfg.maxPending <= 0 {
		cfg.maxPending = chatwire.MaxPendingLines
	}
	cfg.Name = strings.ToValidUTF8(strings.TrimSpace(cfg.Name), "\uFFFD")
	return cfg
}

// validate rejects a name or room that cannot be sent as asked.
func validate(cfg Config) error {
	if !isHeaderSafe(cfg.Room) {
		return fmt.Errorf("invalid room %q: use printable ASCII characters only", cfg.Room)
	}
	if textsafe.NeedsEscape(cfg.Name) {
		return fmt.Errorf("invalid name %q: control characters are not allowed", cfg.Name)
	}
	return nil
}

// isHeaderSafe reports whether s can be sent as a gRPC metadata value:
// printable ASCII only.
func isHeaderSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
