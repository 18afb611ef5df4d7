// Package chatclient is the Go client of the Polychat chat service: it joins a
// room over chat.ChatService/ChatStream, prints what the room says and sends
// what the user types. The wire behaviour and the rendering follow
// docs/chat-protocol.md.
package chatclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/internal/textsafe"
	"github.com/polychat/polychat/internal/tlsconfig"
)

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
		grpc.WithTransportCredentials(tlsconfig.Credentials(cfg.TLS)),
	}, cfg.DialOptions...)
	conn, err := grpc.NewClient(cfg.Server, opts...)
	if err != nil {
		return &ServerError{Server: cfg.Server, Reason: textsafe.Sanitize(err.Error()), Err: err}
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
	md := metadata.Pairs(chatwire.RoomKey, s.cfg.Room)
	if s.cfg.Name != "" && isHeaderSafe(s.cfg.Name) {
		// A name that gRPC metadata cannot carry (non-ASCII) is sent in
		// the user field of the first message instead, which the server
		// also accepts as the name.
		md.Set(chatwire.UserKey, s.cfg.Name)
	}
	if s.cfg.Token != "" {
		md.Set(chatwire.AuthorizationKey, "Bearer "+s.cfg.Token)
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
		return &SignInError{Message: textsafe.Sanitize(st.Message())}
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
