package moderation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	loggerv1 "github.com/polychat/polychat/gen/go/polychat/logger/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The metadata LoggerService takes a shared-key writer's credentials from,
// and the name the chat server writes under ("key:chat" in its writer
// column).
const (
	writeKeyMetadata = "logger-write-key"
	writerMetadata   = "logger-writer"
	writerName       = "chat"
)

// pendingBatch is how many events Sender reads from the outbox at a time.
const pendingBatch = 100

// Sender delivers an Outbox's audit events to LoggerService, in order,
// each until LoggerService has taken it. Every event carries the event_id
// "chat-<epoch>-<action id>", which LoggerService stores once however often
// it is sent, so an event whose answer was lost is sent again safely: each
// action is in the audit log exactly once.
type Sender struct {
	outbox  Outbox
	logger  loggerv1.LoggerServiceClient
	epoch   string
	md      metadata.MD
	log     *slog.Logger
	wake    chan struct{}
	timeout time.Duration
	// MaxBackoff bounds the wait between attempts while LoggerService
	// cannot be reached; a retry comes sooner after a Notify.
	MaxBackoff time.Duration
	// failed, when set (by tests), is called after each failed attempt.
	failed func(error)
}

// NewSender returns a Sender of outbox's events to logger, whose ids name
// epoch (the log's, so that ids of a new log never repeat old ones).
// writeKey is LoggerService's shared write key; empty when the connection
// authenticates with a client certificate.
func NewSender(outbox Outbox, logger loggerv1.LoggerServiceClient, epoch, writeKey string, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	md := metadata.MD{}
	if writeKey != "" {
		md = metadata.Pairs(writeKeyMetadata, writeKey, writerMetadata, writerName)
	}
	return &Sender{
		outbox:     outbox,
		logger:     logger,
		epoch:      epoch,
		md:         md,
		log:        log,
		wake:       make(chan struct{}, 1),
		timeout:    5 * time.Second,
		MaxBackoff: 5 * time.Second,
	}
}

// Notify tells the Sender an event was queued.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends, starting with what an earlier run
// left. Undelivered events stay in the outbox for the next run.
func (s *Sender) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	s.Notify()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		err := s.drain(ctx)
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("audit events wait for LoggerService", "err", err, "retry_in", backoff)
		if s.failed != nil {
			s.failed(err)
		}
		// Jitter keeps a fleet of servers from retrying in step.
		wait := time.Duration(float64(backoff) * (0.5 + rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-s.wake:
		}
		backoff = min(backoff*2, s.MaxBackoff)
		s.Notify()
	}
}

// drain delivers everything pending.
func (s *Sender) drain(ctx context.Context) error {
	for {
		actions, err := s.outbox.Pending(ctx, pendingBatch)
		if err != nil {
			return err
		}
		if len(actions) == 0 {
			return nil
		}
		for _, a := range actions {
			if err := s.deliver(ctx, a); err != nil {
				return err
			}
		}
	}
}

// deliver sends one event and forgets it once LoggerService took it, or
// refused it for good (a request that can never succeed must not hold up
// every later event).
func (s *Sender) deliver(ctx context.Context, a Action) error {
	rctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, s.md), s.timeout)
	defer cancel()
	_, err := s.logger.LogEvent(rctx, Event(a, s.epoch), grpc.WaitForReady(true))
	switch status.Code(err) {
	case codes.OK:
	case codes.InvalidArgument, codes.Unimplemented:
		s.log.Error("LoggerService refused an audit event for good; dropping it",
			"event_id", EventID(s.epoch, a.ID), "type", a.Kind.EventType(), "err", err)
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Errorf("LoggerService does not take the chat server as a writer (check the logger write key or client certificate): %w", err)
	default:
		return fmt.Errorf("send audit event %s: %w", EventID(s.epoch, a.ID), err)
	}
	if err := s.outbox.Delivered(ctx, a.ID); err != nil {
		return errors.Join(err, ctx.Err())
	}
	return nil
}

// EventID is the LoggerService event_id of the action with this id.
func EventID(epoch string, id uint64) string {
	return "chat-" + epoch + "-" + strconv.FormatUint(id, 10)
}

// Event is the LoggerService event of a.
func Event(a Action, epoch string) *loggerv1.LogEventRequest {
	return &loggerv1.LogEventRequest{
		EventType: a.Kind.EventType(),
		Details:   Details(a),
		Timestamp: timestamppb.New(a.At),
		EventId:   EventID(epoch, a.ID),
	}
}

// Details is the readable details of a's audit event:
// `actor=alice target=bob room=general reason="spam" until=2026-01-02T14:05:00Z`.
// Names and reasons are quoted when they need it, so the line stays one
// line that parses back.
func Details(a Action) string {
	var b strings.Builder
	field := func(name, value string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		b.WriteByte('=')
		if value == "" || strings.ContainsAny(value, " \"=\\") || strconv.Quote(value) != `"`+value+`"` {
			value = strconv.Quote(value)
		}
		b.WriteString(value)
	}
	field("actor", a.Actor)
	if a.Target != "" {
		field("target", a.Target)
	}
	field("room", a.Room)
	if a.Kind == Topic {
		field("topic", a.Reason)
	} else if a.Reason != "" {
		field("reason", a.Reason)
	}
	if !a.Until.IsZero() {
		field("until", a.Until.UTC().Format(time.RFC3339))
	}
	return b.String()
}
