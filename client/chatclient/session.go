// Package chatclient is the Go client of the Polychat chat service: it joins a
// room over chat.ChatService/ChatStream, prints what the room says and sends
// what the user types. The wire behaviour and the rendering follow
// docs/chat-protocol.md.
package chatclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// Metadata keys sent when the stream opens (docs/chat-protocol.md, "Joining").
const (
	MetadataUser = "chat-user"
	MetadataRoom = "chat-room"
)

// Defaults used when a Config leaves a field empty.
const (
	DefaultServer         = "localhost:50053"
	DefaultRoom           = "general"
	DefaultConnectTimeout = 5 * time.Second
	DefaultLeaveTimeout   = 2 * time.Second
)

// Config describes one chat session.
type Config struct {
	// Server is the address of the chat server, as grpc.NewClient takes it.
	// Empty means DefaultServer.
	Server string
	// Name is the name to ask for. Empty lets the server assign Client(N).
	Name string
	// Room is the room to join. Empty means DefaultRoom.
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
	// TLS secures the connection (see TLSConfig); nil means plaintext.
	TLS *tls.Config
	// Token, when not empty, is a session token sent as "authorization:
	// Bearer <token>" metadata, for a server that requires sign-in.
	Token string
	// DialOptions are added after the client's own options (transport
	// credentials), e.g. a bufconn dialer in tests.
	DialOptions []grpc.DialOption
}

// LineReader reads the user's input one line at a time. ReadLine returns the
// line without its line ending, and io.EOF at the end of the input.
type LineReader interface {
	ReadLine() (string, error)
}

// NewLineReader returns a LineReader over r that splits at "\n" and drops a
// trailing "\r". Lines may be of any length. A last line without a line
// ending is returned before io.EOF.
func NewLineReader(r io.Reader) LineReader {
	return &lineReader{r: bufio.NewReader(r)}
}

type lineReader struct {
	r *bufio.Reader
}

func (l *lineReader) ReadLine() (string, error) {
	line, err := l.r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			return strings.TrimSuffix(line, "\r"), nil
		}
		return "", err
	}
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// ServerError reports that the chat server could not be reached, or that the
// connection to it was lost.
type ServerError struct {
	// Service names the server in the message; empty means "chat server".
	Service string
	// Server is the address that was dialled.
	Server string
	// Lost is true when the connection worked and then failed.
	Lost bool
	// Reason says why, in a few words (e.g. "connection refused").
	Reason string
	// Err is the underlying error.
	Err error
}

// Error returns e.g. "cannot reach chat server at localhost:50053: connection refused".
func (e *ServerError) Error() string {
	service := e.Service
	if service == "" {
		service = "chat server"
	}
	what := "cannot reach "
	if e.Lost {
		what = "lost connection to "
	}
	return what + service + " at " + e.Server + ": " + e.Reason
}

// Unwrap returns the underlying error.
func (e *ServerError) Unwrap() error { return e.Err }

// DisconnectedError reports that the server ended the stream while the user
// had not asked to leave, or ended it with an error status.
type DisconnectedError struct {
	// Status is the status the server ended the stream with; its code is
	// codes.OK when the server simply closed the stream.
	Status *status.Status
}

// Error returns "disconnected: <status message>", or
// "disconnected: server closed the stream" when there is no message.
func (e *DisconnectedError) Error() string {
	msg := Sanitize(e.Status.Message())
	if msg == "" {
		msg = "server closed the stream"
		if e.Status.Code() != codes.OK {
			msg = "server ended the stream with " + e.Status.Code().String()
		}
	}
	return "disconnected: " + msg
}

// GRPCStatus returns the status the server ended the stream with.
func (e *DisconnectedError) GRPCStatus() *status.Status { return e.Status }

// IsQuitCommand reports whether line asks to leave the chat: /quit, /exit or
// /q, with surrounding spaces allowed.
func IsQuitCommand(line string) bool {
	switch strings.TrimSpace(line) {
	case "/quit", "/exit", "/q":
		return true
	}
	return false
}

// Run joins the chat and runs the session until the user leaves or the server
// ends it. Every message received is written to out as one rendered line
// (one Write call per line). Lines read from in are sent as text messages;
// empty lines are not sent. /quit, /exit, /q, the end of in and the
// cancellation of ctx all leave cleanly: the sending side is closed and Run
// waits, at most cfg.LeaveTimeout, for the server to end the stream.
//
// Run returns nil after a clean leave, a *ServerError when the server cannot
// be reached or the connection is lost, and a *DisconnectedError when the
// server ends the stream on its own. No write to out happens after Run
// returns. A ReadLine call that is blocked when Run returns is left behind:
// its result is discarded.
func Run(ctx context.Context, cfg Config, in LineReader, out io.Writer) error {
	cfg = withDefaults(cfg)
	if err := validate(cfg); err != nil {
		return err
	}

	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentialsFor(cfg.TLS)),
	}, cfg.DialOptions...)
	conn, err := grpc.NewClient(cfg.Server, opts...)
	if err != nil {
		return &ServerError{Server: cfg.Server, Reason: Sanitize(err.Error()), Err: err}
	}
	defer conn.Close()

	s := &session{cfg: cfg, out: out, room: cfg.Room}
	stream, cancelStream, err := s.open(ctx, chatpb.NewChatServiceClient(conn))
	if err != nil {
		if ctx.Err() != nil {
			return nil // the user gave up while connecting
		}
		return err
	}
	defer cancelStream()

	// After ctx is cancelled (Ctrl+C), give the graceful leave at most
	// LeaveTimeout before the stream is torn down, whatever is blocking.
	stopBackstop := context.AfterFunc(ctx, func() {
		time.AfterFunc(cfg.LeaveTimeout, cancelStream)
	})
	defer stopBackstop()

	if cfg.Banner != "" {
		if _, err := io.WriteString(out, cfg.Banner+"\n"); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receive(stream) }()

	done := make(chan struct{})
	defer close(done)
	lines := make(chan string)
	go readLines(in, lines, done)

	for {
		select {
		case <-ctx.Done():
			return s.leave(stream, cancelStream, recvDone)
		case err := <-recvDone:
			return s.ended(err, ctx.Err() != nil)
		case line, ok := <-lines:
			if !ok || IsQuitCommand(line) {
				return s.leave(stream, cancelStream, recvDone)
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := stream.Send(s.textMessage(line)); err != nil {
				if !errors.Is(err, io.EOF) {
					cancelStream()
					<-recvDone
					return fmt.Errorf("send message: %w", err)
				}
				// The stream has ended; the reason comes from Recv. When
				// ctx is done, the user asked to leave (Ctrl+C) and the
				// stream was torn down after LeaveTimeout.
				return s.ended(<-recvDone, ctx.Err() != nil)
			}
		}
	}
}

func withDefaults(cfg Config) Config {
	if cfg.Server == "" {
		cfg.Server = DefaultServer
	}
	cfg.Room = strings.TrimSpace(cfg.Room)
	if cfg.Room == "" {
		cfg.Room = DefaultRoom
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.LeaveTimeout <= 0 {
		cfg.LeaveTimeout = DefaultLeaveTimeout
	}
	cfg.Name = strings.ToValidUTF8(strings.TrimSpace(cfg.Name), "\uFFFD")
	return cfg
}

// validate rejects a name or room that cannot be sent as asked.
func validate(cfg Config) error {
	if !isHeaderSafe(cfg.Room) {
		return fmt.Errorf("invalid room %q: use printable ASCII characters only", cfg.Room)
	}
	if needsEscape(cfg.Name) {
		return fmt.Errorf("invalid name %q: control characters are not allowed", cfg.Name)
	}
	return nil
}

// credentialsFor returns TLS transport credentials for cfg, or insecure
// ones when cfg is nil.
func credentialsFor(cfg *tls.Config) credentials.TransportCredentials {
	if cfg == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(cfg)
}

// readLines sends the lines of in to lines until the end of the input or a
// quit command, then closes lines. It stops early when done is closed.
func readLines(in LineReader, lines chan<- string, done <-chan struct{}) {
	defer close(lines)
	for {
		line, err := in.ReadLine()
		if err != nil {
			return
		}
		select {
		case lines <- line:
		case <-done:
			return
		}
		if IsQuitCommand(line) {
			// Stop reading: on a terminal another ReadLine would draw a
			// fresh prompt while we are leaving.
			return
		}
	}
}

// session is the state of one Run.
type session struct {
	cfg      Config
	out      io.Writer
	mu       sync.Mutex
	room     string // the room as the server names it, once known
	received bool   // whether any message arrived
}

// open opens the chat stream, failing within cfg.ConnectTimeout when the
// server cannot be reached. The returned cancel func ends the stream.
func (s *session) open(ctx context.Context, client chatpb.ChatServiceClient) (chatpb.ChatService_ChatStreamClient, context.CancelFunc, error) {
	md := metadata.Pairs(MetadataRoom, s.cfg.Room)
	if s.cfg.Name != "" && isHeaderSafe(s.cfg.Name) {
		// A name that gRPC metadata cannot carry (non-ASCII) is sent in
		// the user field of the first message instead, which the server
		// also accepts as the name.
		md.Set(MetadataUser, s.cfg.Name)
	}
	if s.cfg.Token != "" {
		md.Set(MetadataAuthorization, "Bearer "+s.cfg.Token)
	}
	// The stream outlives ctx: cancelling ctx means "leave gracefully",
	// which still needs the stream.
	streamCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	streamCtx = metadata.NewOutgoingContext(streamCtx, md)
	cancelStream := func() { cancel(context.Canceled) }

	errTimeout := fmt.Errorf("no answer within %s", s.cfg.ConnectTimeout)
	timer := time.AfterFunc(s.cfg.ConnectTimeout, func() { cancel(errTimeout) })
	stopCtx := context.AfterFunc(ctx, cancelStream)
	stream, err := client.ChatStream(streamCtx)
	timedOut := !timer.Stop()
	interrupted := !stopCtx()
	if err == nil && !timedOut && !interrupted {
		return stream, cancelStream, nil
	}
	cancelStream()
	switch {
	case interrupted:
		return nil, nil, fmt.Errorf("open chat stream: %w", ctx.Err())
	case timedOut:
		return nil, nil, &ServerError{Server: s.cfg.Server, Reason: errTimeout.Error(), Err: errTimeout}
	}
	return nil, nil, &ServerError{Server: s.cfg.Server, Reason: connReason(err, s.cfg.TLS != nil), Err: fmt.Errorf("open chat stream: %w", err)}
}

// receive prints every message of the stream until it ends, and returns the
// error Recv ended with (io.EOF when the server ended it with OK).
func (s *session) receive(stream chatpb.ChatService_ChatStreamClient) error {
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.received = true
		if room := msg.GetRoom(); room != "" {
			s.room = room
		}
		s.mu.Unlock()
		if _, err := io.WriteString(s.out, Render(msg)+"\n"); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
}

// textMessage builds the message that sends line to the room.
func (s *session) textMessage(line string) *chatpb.ChatMessage {
	now := time.Now()
	s.mu.Lock()
	room := s.room
	s.mu.Unlock()
	return &chatpb.ChatMessage{
		User:         s.cfg.Name,
		Message:      strings.ToValidUTF8(line, "\uFFFD"),
		Timestamp:    now.Unix(),
		Room:         room,
		Kind:         chatpb.ChatMessage_KIND_TEXT,
		ClientSentAt: timestamppb.New(now),
	}
}

// leave asks the server to end the membership (KIND_LEAVE, handled after
// everything sent before it), closes the sending side and waits, at most
// LeaveTimeout, for the server to end the stream.
func (s *session) leave(stream chatpb.ChatService_ChatStreamClient, cancelStream context.CancelFunc, recvDone <-chan error) error {
	// Both only fail when the stream is already over; recvDone then says why.
	_ = stream.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE})
	_ = stream.CloseSend()
	timer := time.NewTimer(s.cfg.LeaveTimeout)
	defer timer.Stop()
	select {
	case err := <-recvDone:
		return s.ended(err, true)
	case <-timer.C:
		cancelStream()
		<-recvDone
		return nil
	}
}

// ended turns the error the stream ended with into Run's result. leaving
// says whether the user had asked to leave.
func (s *session) ended(err error, leaving bool) error {
	if errors.Is(err, io.EOF) {
		if leaving {
			return nil
		}
		return &DisconnectedError{Status: status.New(codes.OK, "")}
	}
	st, ok := status.FromError(err)
	if !ok {
		return err // e.g. writing the output failed
	}
	switch st.Code() {
	case codes.Canceled:
		if leaving {
			return nil
		}
	case codes.Unauthenticated:
		return &SignInError{Message: Sanitize(st.Message())}
	case codes.Unavailable:
		s.mu.Lock()
		received := s.received
		s.mu.Unlock()
		if !received {
			return &ServerError{Server: s.cfg.Server, Reason: connReason(err, s.cfg.TLS != nil), Err: err}
		}
		if isTransportFailure(st.Message()) {
			return &ServerError{Server: s.cfg.Server, Lost: true, Reason: reason(err), Err: err}
		}
		// Otherwise the server itself ended the stream, e.g. with
		// "server is shutting down".
	}
	return &DisconnectedError{Status: st}
}

// reason extracts a short, printable reason from a gRPC connection error,
// e.g. "connection refused" from
// `connection error: desc = "transport: Error while dialing: dial tcp [::1]:50053: connect: connection refused"`.
func reason(err error) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	if strings.Contains(msg, "produced zero addresses") {
		return "host name not found"
	}
	msg = strings.TrimRight(strings.TrimSpace(msg), `"`)
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	switch msg {
	case "":
		msg = "unavailable"
	case "EOF":
		msg = "connection closed"
	}
	return Sanitize(msg)
}

// connReason is reason for a connection that failed before the server said
// anything, with what TLS adds: handshake failures read "TLS handshake
// failed: ..." (e.g. "certificate signed by unknown authority"), and a
// connection closed at once hints at a TLS mismatch or a missing client
// certificate. tlsOn says whether the client uses TLS.
func connReason(err error, tlsOn bool) string {
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	const handshake = "authentication handshake failed: "
	if i := strings.Index(msg, handshake); i >= 0 {
		return "TLS handshake failed: " + tlsReason(msg[i+len(handshake):])
	}
	const remote = "remote error: tls: "
	if i := strings.Index(msg, remote); i >= 0 {
		return "TLS handshake failed: the server refused the client certificate: " + tlsReason(msg[i+len(remote):])
	}
	r := reason(err)
	switch {
	case tlsOn && (r == "broken pipe" || r == "connection reset by peer" || r == "connection closed"):
		return "TLS handshake failed: the server closed the connection (does it require a client certificate?)"
	case !tlsOn && r == "connection closed":
		return "connection closed (does the server expect TLS?)"
	}
	return r
}

// tlsReason shortens a crypto/tls error to its last, readable part, e.g.
// "certificate signed by unknown authority" from "tls: failed to verify
// certificate: x509: certificate signed by unknown authority (possibly
// because of ...)".
func tlsReason(msg string) string {
	msg = strings.TrimRight(strings.TrimSpace(msg), `"`)
	if i := strings.Index(msg, " (possibly because"); i >= 0 {
		msg = msg[:i]
	}
	for _, prefix := range []string{"tls: ", "failed to verify certificate: ", "x509: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if msg == "first record does not look like a TLS handshake" {
		msg = "the server does not speak TLS"
	}
	if msg == "" || msg == "EOF" {
		msg = "connection closed"
	}
	return Sanitize(msg)
}

// transportFailures are how grpc-go's client words an Unavailable status that
// it made itself because the connection failed, as opposed to a status the
// server sent.
var transportFailures = []string{
	"error reading from server",
	"connection error",
	"transport is closing",
	"transport: ",
	"the connection is draining",
	"stream terminated by RST_STREAM",
	"keepalive ping failed",
}

// isTransportFailure reports whether an Unavailable status message says the
// connection failed, rather than carrying the server's own words.
func isTransportFailure(msg string) bool {
	for _, f := range transportFailures {
		if strings.Contains(msg, f) {
			return true
		}
	}
	return false
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
