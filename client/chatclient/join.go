package chatclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/textsafe"
)

// join moves the session from c's room to room: it opens a stream in room
// first and waits for its welcome, so that a room the server refuses
// leaves the user where they were, with a word why; then it leaves c's
// room (its members see the leave at once) and starts the new room afresh.
// It reports whether the session moved: Run then goes on with s.moved.
func (s *session) join(ctx context.Context, c *conn, recvDone <-chan error, room string) bool {
	s.mu.Lock()
	current, behind := s.room, s.outbox.hasQueued()
	s.mu.Unlock()
	switch {
	case room == current:
		s.status("You are in room " + textsafe.Sanitize(room) + " already")
		return false
	case !isHeaderSafe(room):
		s.status("Cannot join " + textsafe.Sanitize(room) + ": room names are printable ASCII")
		return false
	case behind:
		s.status("Cannot join " + room + " yet: lines typed while disconnected are still being sent")
		return false
	}
	next, err := s.openRoom(ctx, room)
	if err != nil {
		if ctx.Err() == nil {
			s.status("Cannot join " + room + ": " + lostReason(err))
		}
		return false
	}
	_ = s.leave(c, recvDone) // how the old stream ended no longer matters
	s.enter(room)
	s.moved = next
	return true
}

// openRoom opens a stream that joins room as a new member and reads its
// first message, the welcome, within ConnectTimeout.
func (s *session) openRoom(ctx context.Context, room string) (*conn, error) {
	c, err := s.dial(ctx, s.roomMetadata(room))
	if err != nil {
		var se *ServerError
		if errors.As(err, &se) {
			return nil, errors.New(se.Reason)
		}
		return nil, err
	}
	type result struct {
		msg *chatpb.ChatMessage
		err error
	}
	got := make(chan result, 1)
	go func() {
		msg, err := c.stream.Recv()
		got <- result{msg, err}
	}()
	timer := time.NewTimer(s.cfg.ConnectTimeout)
	defer timer.Stop()
	select {
	case r := <-got:
		if r.err != nil {
			c.close()
			return nil, r.err
		}
		c.first = r.msg
		return c, nil
	case <-timer.C:
		c.close()
		return nil, fmt.Errorf("no answer within %s", s.cfg.ConnectTimeout)
	case <-ctx.Done():
		c.close()
		return nil, ctx.Err()
	}
}

// enter starts the session afresh in room: the resume token, the epoch and
// seq of the last message shown and the held history start were the old
// room's, and resuming or skipping repeats with them in the new room would
// join the wrong room or hide its history. The lines sent in the old room
// arrived: the server handled the leave after them.
func (s *session) enter(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want, s.room = room, room
	s.token, s.held = "", ""
	s.seen = dedupe{}
	s.outbox.settled()
}
