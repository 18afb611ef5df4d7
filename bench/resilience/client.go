package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// The reconnect backoff of the chat clients: gRPC's connection backoff with
// a 30 s cap.
var reconnectBackoff = backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 30 * time.Second}

// rclient is one resilient chat client: it reconnects by itself, resumes
// its session with chat-resume-token and chat-resume-from, drops messages
// it already showed, and, if it is a sender, sends its numbered messages
// with a client_msg_id and resends those a lost stream may have cut off.
type rclient struct {
	idx    int
	name   string
	room   string
	sender int     // index among the senders; -1 for a receiver only
	out    *outbox // a sender's; nil otherwise
	conn   *grpc.ClientConn

	mu       sync.Mutex
	token    string
	filter   shownFilter
	tally    *tally
	hidden   int       // texts dropped as already shown
	welcomes int       // welcome notices received
	welcomed time.Time // when the last one arrived
	fresh    int       // welcomes after the first that did not resume
	notices  map[string]int
	fatal    error // a status retrying cannot fix
	lastErr  error

	first chan struct{} // closed on the first welcome
}

func newClient(idx int, addr, room string, sender, senders int, window time.Duration) (*rclient, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnectBackoff, MinConnectTimeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	c := &rclient{
		idx: idx, name: "rc" + strconv.Itoa(idx), room: room, sender: sender, conn: conn,
		tally: newTally(senders), notices: map[string]int{}, first: make(chan struct{}),
	}
	if sender >= 0 {
		c.out = newOutbox(window)
	}
	return c, nil
}

// run keeps c in its room until ctx ends or a status retrying cannot fix
// ends it.
func (c *rclient) run(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		welcomed, err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		c.lastErr = err
		c.mu.Unlock()
		switch status.Code(err) {
		case codes.Unauthenticated, codes.InvalidArgument, codes.PermissionDenied:
			c.mu.Lock()
			c.fatal = err
			c.mu.Unlock()
			return
		}
		if c.out != nil {
			c.out.lost(time.Now())
		}
		if welcomed {
			// The connection's own backoff paces the attempts to reach the
			// server; a stream that worked is reopened at once.
			failures = 0
			continue
		}
		failures++
		d := float64(reconnectBackoff.BaseDelay)
		for range failures - 1 {
			d *= reconnectBackoff.Multiplier
		}
		d = min(d, float64(reconnectBackoff.MaxDelay)) * (1 + reconnectBackoff.Jitter*(rand.Float64()*2-1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(d)):
		}
	}
}

// session opens one stream, resuming what c has, and reads it until it
// ends; a sender sends on it meanwhile. It reports whether the stream was
// welcomed.
func (c *rclient) session(ctx context.Context) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	md := []string{chatwire.UserKey, c.name, chatwire.RoomKey, c.room}
	c.mu.Lock()
	if c.token != "" {
		md = append(md, chatwire.ResumeTokenKey, c.token)
	}
	if from := c.filter.resumeFrom(); from != "" {
		md = append(md, chatwire.ResumeFromKey, from)
	}
	c.mu.Unlock()
	stream, err := chatpb.NewChatServiceClient(c.conn).ChatStream(
		metadata.AppendToOutgoingContext(sctx, md...), grpc.WaitForReady(true))
	if err != nil {
		return false, err
	}
	welcomed := false
	var sending sync.WaitGroup
	defer sending.Wait()
	defer cancel()
	for {
		msg, err := stream.Recv()
		if err != nil {
			return welcomed, err
		}
		if !welcomed && msg.GetKind() == chatpb.ChatMessage_KIND_SYSTEM && c.welcome(msg) {
			welcomed = true
			if c.out != nil {
				sending.Add(1)
				go func() {
					defer sending.Done()
					c.send(sctx, stream)
				}()
			}
			continue
		}
		c.receive(msg)
	}
}

// welcome records msg if it is the welcome notice (it carries the resume
// token, or says Welcome), and reports whether it was.
func (c *rclient) welcome(msg *chatpb.ChatMessage) bool {
	text := msg.GetMessage()
	if msg.GetResumeToken() == "" && !hasPrefix(text, "Welcome") {
		c.notice(text)
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := msg.GetResumeToken(); t != "" {
		c.token = t
	}
	c.welcomes++
	c.welcomed = time.Now()
	if c.welcomes > 1 && !msg.GetResumed() {
		c.fresh++
	}
	if c.welcomes == 1 {
		close(c.first)
	}
	return true
}

// receive shows msg unless it was shown before, and counts it.
func (c *rclient) receive(msg *chatpb.ChatMessage) {
	if msg.GetKind() != chatpb.ChatMessage_KIND_TEXT {
		c.notice(msg.GetMessage())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	show, _ := c.filter.admit(msg.GetEpoch(), msg.GetSeq())
	if !show {
		c.hidden++
		return
	}
	if msg.GetUser() == c.name {
		// Its own message, replayed after a resume: the server has it.
		if c.out != nil {
			c.out.arrived(msg.GetClientMsgId())
		}
		return
	}
	if s, n, ok := parseText(msg.GetMessage()); ok {
		c.tally.add(s, n)
	}
}

// notice counts the system notices about resuming that the report shows.
func (c *rclient) notice(text string) {
	var key string
	switch {
	case hasPrefix(text, "Could not resume"):
		key = "could_not_resume"
	case hasPrefix(text, "You missed"):
		key = "missed"
	case hasPrefix(text, "The server's history was reset"):
		key = "history_reset"
	default:
		return
	}
	c.mu.Lock()
	c.notices[key]++
	c.mu.Unlock()
}

// send sends the sender's queue on stream, in order, until the stream or
// ctx ends.
func (c *rclient) send(ctx context.Context, stream grpc.BidiStreamingClient[chatpb.ChatMessage, chatpb.ChatMessage]) {
	for {
		m, ok := c.out.next(time.Now())
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-c.out.ready:
				continue
			}
		}
		err := stream.Send(&chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_TEXT, Message: m.text, ClientMsgId: m.id})
		if err != nil {
			return
		}
	}
}

// resumedSince reports whether c was welcomed at or after t, and when.
func (c *rclient) resumedSince(t time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcomed, c.welcomes > 0 && !c.welcomed.Before(t)
}

// failed returns the status that ended c for good, if any.
func (c *rclient) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

var errNotWelcomed = errors.New("not every client was welcomed")
