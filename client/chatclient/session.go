// Package chatclient is the Go client of the Polychat chat service: it joins a
// room over chat.ChatService/ChatStream, prints what the room says and sends
// what the user types. With Config.Reconnect it rides out a lost connection:
// it reconnects by itself, resumes where it left off and sends what was
// typed meanwhile. The wire behaviour and the rendering follow
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

	"github.com/google/uuid"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
	// A server address may be "ipv4:host:port,host:port" (several chat
	// servers of a cluster), as in the Python client.
	_ "github.com/polychat/polychat/internal/iptarget"
	"github.com/polychat/polychat/internal/textsafe"
	"github.com/polychat/polychat/internal/tlsconfig"
)

// keepaliveParams make a reconnecting client notice a connection that died
// silently (a cut network) within half a minute. The chat server allows a
// ping every 10 seconds.
var keepaliveParams = keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second}

// Run joins the chat and runs the session until the user leaves or the server
// ends it. Every message received is written to out as rendered by Render
// (one Write call per message, which may be several lines). Lines read from
// in are sent as text messages, each with its own client_msg_id, unless
// they are commands (see ParseCommand): /me and /msg send an action or a
// private message, /join moves to another room, /who, /rooms and /help are
// answered on out, and an unknown command is answered there and never
// sent. Empty lines are not sent. /quit, /exit, /q, the end of in and the
// cancellation of ctx all leave cleanly: the sending side is closed and Run
// waits, at most cfg.LeaveTimeout, for the server to end the stream.
//
// With cfg.Reconnect, a stream that ends after the session has started is
// reopened (see Config.Reconnect): one status line says the connection was
// lost and one that it is back; lines typed meanwhile are shown as pending
// and sent, in order, once back. Leaving while reconnecting returns at once.
//
// Run returns nil after a clean leave, a *ServerError when the server cannot
// be reached or the connection is lost, a *SignInError when the server
// refuses the session token, and a *DisconnectedError when the server ends
// the stream on its own. No write to out happens after Run returns. A
// ReadLine call that is blocked when Run returns is left behind: its result
// is discarded.
func Run(ctx context.Context, cfg Config, in LineReader, out io.Writer) error {
	cfg = withDefaults(cfg)
	if err := validate(cfg); err != nil {
		return err
	}
	s := &session{
		cfg:    cfg,
		out:    out,
		room:   cfg.Room,
		want:   cfg.Room,
		outbox: newOutbox(cfg.maxPending, nil),
		sched:  schedule{cfg: cfg.Backoff, random: cfg.random},

		welcomed: make(chan struct{}),
	}
	c, err := s.connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // the user gave up while connecting
		}
		return err
	}
	if cfg.Banner != "" {
		if err := s.print(cfg.Banner); err != nil {
			c.close()
			return err
		}
	}
	defer s.reportUnsent()
	defer s.closeStreaming()

	done := make(chan struct{})
	defer close(done)
	lines := make(chan string)
	go readLines(in, lines, done)

	for {
		finished, result, cause := s.converse(ctx, c, lines)
		c.close()
		if finished {
			return result
		}
		if s.moved != nil { // the user joined another room
			c, s.moved = s.moved, nil
			continue
		}
		if c, result = s.reconnect(ctx, lines, cause); c == nil {
			return result
		}
	}
}

// session is the state of one Run.
type session struct {
	cfg   Config
	out   io.Writer
	outMu sync.Mutex // one line at a time on out
	sched schedule

	// moved is the stream in another room that the user joined (/join),
	// which Run goes on with. Used only by Run's goroutine.
	moved *conn

	mu       sync.Mutex
	room     string // the room as the server names it, once known
	want     string // the room to (re)join: the configured one, or the last /join
	received bool   // whether any message arrived, on any stream
	outage   bool   // the connection is lost and not back yet
	failed   int    // attempts to reconnect that failed in this outage
	token    string // resume_token of the last welcome
	// memberToken is the member_token of the last welcome, for the file
	// RPCs; streamingConn the connection to StreamingService (files.go).
	memberToken   string
	streamingConn *grpc.ClientConn
	// transfers are the /send and /get in flight, which leaving waits for.
	transfers sync.WaitGroup
	// welcomed is closed once the first message (the welcome, with the
	// member token) has arrived: a /send typed before waits for it.
	welcomed chan struct{}
	seen     dedupe
	outbox   *outbox
	held     string // a history start line, shown with the block's first new message
}

// conn is one connection to the server and the chat stream on it.
type conn struct {
	cc     *grpc.ClientConn
	stream chatpb.ChatService_ChatStreamClient
	cancel context.CancelFunc // ends the stream
	// first is the stream's first message when it was read before the
	// stream was handed over (a /join waits for the new room's welcome).
	first *chatpb.ChatMessage
}

func (c *conn) close() {
	c.cancel()
	_ = c.cc.Close()
}

// connect dials the server and opens the chat stream, each time on a new
// connection so that gRPC's own reconnection schedule does not stand
// between the server and the attempts Run makes.
func (s *session) connect(ctx context.Context) (*conn, error) {
	return s.dial(ctx, s.joinMetadata())
}

// dial connects to the server and opens a chat stream with the request
// metadata md.
func (s *session) dial(ctx context.Context, md metadata.MD) (*conn, error) {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(tlsconfig.Credentials(s.cfg.TLS))}
	if s.cfg.Reconnect {
		opts = append(opts, grpc.WithKeepaliveParams(keepaliveParams))
	}
	cc, err := grpc.NewClient(s.cfg.Server, append(opts, s.cfg.DialOptions...)...)
	if err != nil {
		return nil, &ServerError{Server: s.cfg.Server, Reason: textsafe.Sanitize(err.Error()), Err: err}
	}
	stream, cancel, err := s.open(ctx, chatpb.NewChatServiceClient(cc), md)
	if err != nil {
		_ = cc.Close()
		return nil, err
	}
	return &conn{cc: cc, stream: stream, cancel: cancel}, nil
}

// open opens the chat stream with the request metadata md, failing within
// cfg.ConnectTimeout when the server cannot be reached. The returned cancel
// func ends the stream.
func (s *session) open(ctx context.Context, client chatpb.ChatServiceClient, md metadata.MD) (chatpb.ChatService_ChatStreamClient, context.CancelFunc, error) {
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

// joinMetadata is the request metadata that opens a stream: the room, the
// name, the session token and, once the server has said where the session
// stands, what a resume needs.
func (s *session) joinMetadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	md := s.roomMetadata(s.want)
	if s.token != "" {
		md.Set(chatwire.ResumeTokenKey, s.token)
	}
	if from := s.seen.resumeFrom(); from != "" {
		md.Set(chatwire.ResumeFromKey, from)
	}
	return md
}

// roomMetadata is the request metadata that joins room afresh: the room,
// the name and the session token.
func (s *session) roomMetadata(room string) metadata.MD {
	md := metadata.Pairs(chatwire.RoomKey, room)
	if s.cfg.Name != "" && isHeaderSafe(s.cfg.Name) {
		// A name that gRPC metadata cannot carry (non-ASCII) is sent in
		// the user field of the first message instead, which the server
		// also accepts as the name.
		md.Set(chatwire.UserKey, s.cfg.Name)
	}
	s.addToken(md)
	return md
}

// addToken adds the session token, if any, to md.
func (s *session) addToken(md metadata.MD) {
	if s.cfg.Token != "" {
		md.Set(chatwire.AuthorizationKey, "Bearer "+s.cfg.Token)
	}
}

// converse runs one stream: it sends the queued lines (paced), then the
// lines the user types, and shows what arrives, until the user leaves or the stream
// ends. finished says whether Run is over, with result; otherwise cause is
// what ended the stream, and reconnecting may help.
func (s *session) converse(ctx context.Context, c *conn, lines <-chan string) (finished bool, result, cause error) {
	recvDone := make(chan error, 1)
	go func() { recvDone <- s.receive(c) }()

	// After ctx is cancelled (Ctrl+C), give the graceful leave at most
	// LeaveTimeout before the stream is torn down, whatever is blocking.
	stopBackstop := context.AfterFunc(ctx, func() {
		time.AfterFunc(s.cfg.LeaveTimeout, c.cancel)
	})
	defer stopBackstop()

	pace := rate.NewLimiter(flushRate, flushBurst)
	var timer *time.Timer
	var paced <-chan time.Time // fires when the next queued line may go
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if paced == nil {
			wait, err := s.flush(c, pace)
			if err != nil {
				return s.sendFailed(ctx, err, c, recvDone)
			}
			if wait > 0 {
				timer = time.NewTimer(wait)
				paced = timer.C
			}
		}
		select {
		case <-paced:
			paced = nil
		case <-ctx.Done():
			return true, s.leave(c, recvDone), nil
		case err := <-recvDone:
			return s.streamEnded(ctx, err)
		case line, ok := <-lines:
			if !ok {
				s.transfers.Wait() // files on their way are shared before leaving
				return true, s.leave(c, recvDone), nil
			}
			cmd := ParseCommand(line)
			switch cmd.Kind {
			case CommandQuit:
				s.transfers.Wait()
				return true, s.leave(c, recvDone), nil
			case CommandJoin:
				if s.join(ctx, c, recvDone, cmd.Arg) {
					return false, nil, nil
				}
				continue
			case CommandText, CommandAction, CommandPrivate:
			default:
				s.local(ctx, c, cmd)
				continue
			}
			msg := s.outgoing(cmd)
			s.mu.Lock()
			behind := s.outbox.hasQueued()
			s.mu.Unlock()
			if behind {
				s.hold(msg, line) // after the lines still waiting, in order
				continue
			}
			s.mu.Lock()
			s.outbox.sending(msg)
			s.mu.Unlock()
			if err := c.stream.Send(msg); err != nil {
				return s.sendFailed(ctx, err, c, recvDone)
			}
		}
	}
}

// The queued lines are sent at most flushRate a second after a burst of
// flushBurst, half the chat server's default rate limit (20 a second,
// bursts of 40), so that a long queue does not get the client disconnected
// for sending too fast.
const (
	flushRate  = 10
	flushBurst = 20
)

// flush sends the queued lines as fast as pace allows. It returns how long
// to wait before the next one may go (0 when none is left), or the error
// sending failed with.
func (s *session) flush(c *conn, pace *rate.Limiter) (time.Duration, error) {
	for {
		s.mu.Lock()
		if !s.outbox.hasQueued() {
			s.mu.Unlock()
			return 0, nil
		}
		r := pace.Reserve()
		if wait := r.Delay(); wait > 0 {
			r.Cancel()
			s.mu.Unlock()
			return wait, nil
		}
		msg, _ := s.outbox.next()
		s.outbox.sending(msg)
		s.mu.Unlock()
		if err := c.stream.Send(msg); err != nil {
			return 0, err
		}
	}
}

// sendFailed is converse's result when sending failed with err.
func (s *session) sendFailed(ctx context.Context, err error, c *conn, recvDone <-chan error) (bool, error, error) {
	if !errors.Is(err, io.EOF) {
		c.cancel()
		<-recvDone
		return true, fmt.Errorf("send message: %w", err), nil
	}
	// The stream has ended; the reason comes from Recv. When ctx is done,
	// the user asked to leave (Ctrl+C) and the stream was torn down after
	// LeaveTimeout.
	return s.streamEnded(ctx, <-recvDone)
}

// streamEnded is converse's result when the stream ended with err while
// the user was not leaving through it.
func (s *session) streamEnded(ctx context.Context, err error) (bool, error, error) {
	leaving := ctx.Err() != nil
	s.mu.Lock()
	started := s.received
	s.mu.Unlock()
	if !leaving && s.cfg.Reconnect && started && judge(err).retry {
		return false, nil, err
	}
	return true, s.ended(err, leaving), nil
}

// reconnect reopens the stream after it ended with cause, on the backoff
// schedule, until an attempt opens a stream or the user leaves (c is nil,
// err nil). Lines typed meanwhile are queued. The first attempt after a
// stream that worked is made at once.
func (s *session) reconnect(ctx context.Context, lines <-chan string, cause error) (c *conn, err error) {
	s.mu.Lock()
	first := !s.outage
	if first {
		s.outage, s.failed = true, 0
	} else {
		s.failed++ // the last attempt opened a stream that ended before a word
	}
	// A server that names an epoch drops repeated client_msg_ids.
	s.outbox.lost(s.seen.epoch != "")
	failed := s.failed
	s.mu.Unlock()
	if first {
		s.status("Connection lost (" + lostReason(cause) + "); reconnecting...")
	}
	wait := s.sched.delay(failed)
	if v := judge(cause); v.wait > 0 {
		wait = v.wait
	} else if status.Code(cause) == codes.ResourceExhausted {
		wait = s.sched.delay(max(failed, 1)) // disconnected for a reason: not at once
	}
	for {
		if !s.pause(ctx, lines, wait) {
			return nil, nil
		}
		c, left, err := s.attempt(ctx, lines)
		if left {
			return nil, nil
		}
		if err == nil {
			return c, nil
		}
		s.mu.Lock()
		s.failed++
		failed = s.failed
		s.mu.Unlock()
		wait = s.sched.delay(failed)
	}
}

// pause waits for d, queueing the lines typed meanwhile. It returns false
// when the user leaves.
func (s *session) pause(ctx context.Context, lines <-chan string, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case line, ok := <-lines:
			if !ok || s.offline(line) {
				return false
			}
		case <-timer.C:
			return true
		}
	}
}

// attempt makes one attempt to connect, queueing the lines typed
// meanwhile. left says the user left; the attempt is then abandoned
// without waiting for it.
func (s *session) attempt(ctx context.Context, lines <-chan string) (c *conn, left bool, err error) {
	type result struct {
		c   *conn
		err error
	}
	attemptCtx, cancel := context.WithCancel(ctx)
	results := make(chan result, 1)
	go func() {
		c, err := s.connect(attemptCtx)
		results <- result{c, err}
	}()
	abandon := func() {
		cancel()
		go func() {
			if r := <-results; r.c != nil {
				r.c.close()
			}
		}()
	}
	for {
		select {
		case r := <-results:
			cancel()
			return r.c, false, r.err
		case <-ctx.Done():
			abandon()
			return nil, true, nil
		case line, ok := <-lines:
			if !ok || s.offline(line) {
				abandon()
				return nil, true, nil
			}
		}
	}
}

// hold queues msg, typed as line while disconnected, and shows the line as
// pending, or says why it cannot be queued.
func (s *session) hold(msg *chatpb.ChatMessage, line string) {
	s.mu.Lock()
	err := s.outbox.hold(msg)
	s.mu.Unlock()
	if err != nil {
		s.status(fmt.Sprintf("Not sent: %d lines are already waiting for the connection", s.cfg.maxPending))
		return
	}
	_ = s.print(Continued("(pending) ", line))
}

// reportUnsent says how many lines typed while disconnected were never
// sent, if any, as the session ends.
func (s *session) reportUnsent() {
	s.mu.Lock()
	n := s.outbox.waiting()
	s.mu.Unlock()
	switch {
	case n == 1:
		s.status("1 line typed while disconnected was not sent")
	case n > 1:
		s.status(fmt.Sprintf("%d lines typed while disconnected were not sent", n))
	}
}

// receive shows every new message of c's stream until it ends, and returns
// the error Recv ended with (io.EOF when the server ended it with OK).
func (s *session) receive(c *conn) error {
	if c.first != nil {
		if err := s.print(s.take(c.first)...); err != nil {
			return err
		}
	}
	for {
		msg, err := c.stream.Recv()
		if err != nil {
			return err
		}
		if err := s.print(s.take(msg)...); err != nil {
			return err
		}
	}
}

// take records msg and returns the lines that show it: none for a message
// already shown or one of the session's own lines replayed, and
// "Reconnected" first when msg is the first word of a reconnected stream.
func (s *session) take(msg *chatpb.ChatMessage) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if !s.received {
		close(s.welcomed)
	}
	s.received = true
	if s.outage {
		s.outage, s.failed = false, 0
		out = append(out, statusLine("Reconnected"))
	}
	if room := msg.GetRoom(); room != "" {
		s.room = room
	}
	if token := msg.GetResumeToken(); token != "" {
		s.token = token
	}
	if token := msg.GetMemberToken(); token != "" {
		s.memberToken = token
	}
	show := s.seen.admit(msg)
	if id := msg.GetClientMsgId(); show && s.outbox.isOwn(id) {
		// The server replays this session's own line (no echo otherwise):
		// it arrived, and it was shown when it was typed. A private
		// message's echo is the one way it is shown.
		s.outbox.arrived(id)
		// A refusal (a mute) says the line was not sent: it is not to be
		// sent again either.
		show = msg.GetKind() == chatpb.ChatMessage_KIND_PRIVATE || msg.GetKind() == chatpb.ChatMessage_KIND_REFUSED
	}
	switch {
	case !show:
	case msg.GetKind() == chatpb.ChatMessage_KIND_HISTORY_START:
		// Shown with the block's first new message: a block of messages
		// already shown is left out whole.
		s.held = Render(msg)
	case msg.GetKind() == chatpb.ChatMessage_KIND_HISTORY_END && s.held != "":
		s.held = ""
	default:
		if s.held != "" {
			out = append(out, s.held)
			s.held = ""
		}
		out = append(out, Render(msg))
	}
	return out
}

// print writes lines to the output, one Write call per line.
func (s *session) print(lines ...string) error {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	for _, line := range lines {
		if _, err := io.WriteString(s.out, line+"\n"); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	return nil
}

// status shows a status line of the client's own (best effort: a failing
// output is reported by the receiving side).
func (s *session) status(text string) {
	_ = s.print(statusLine(text))
}

// statusLine renders a status line of the client's own like a server
// notice: "[14:30:25] *** Reconnected".
func statusLine(text string) string {
	return "[" + time.Now().Format(timeLayout) + "] *** " + text
}

// lostReason says in a few words why a stream ended, for the status line.
func lostReason(err error) string {
	if errors.Is(err, io.EOF) {
		return "the server closed the stream"
	}
	st, ok := status.FromError(err)
	if !ok {
		return textsafe.Sanitize(err.Error())
	}
	if st.Code() == codes.Unavailable && (st.Message() == "" || isTransportFailure(st.Message())) {
		return reason(err)
	}
	if msg := textsafe.Sanitize(st.Message()); msg != "" {
		return msg
	}
	return "the server ended the stream with " + st.Code().String()
}

// textMessage builds the message that sends line to the room, with a new
// client_msg_id.
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
		ClientMsgId:  uuid.NewString(),
	}
}

// leave asks the server to end the membership (KIND_LEAVE, handled after
// everything sent before it), closes the sending side and waits, at most
// LeaveTimeout, for the server to end the stream.
func (s *session) leave(c *conn, recvDone <-chan error) error {
	// Both only fail when the stream is already over; recvDone then says why.
	_ = c.stream.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_LEAVE})
	_ = c.stream.CloseSend()
	timer := time.NewTimer(s.cfg.LeaveTimeout)
	defer timer.Stop()
	select {
	case err := <-recvDone:
		return s.ended(err, true)
	case <-timer.C:
		c.cancel()
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
