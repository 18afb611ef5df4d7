package app

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	loggerv1 "github.com/polychat/polychat/gen/go/polychat/logger/v1"
)

// recordingLogger is a LoggerService that hands every event it gets, with
// the write key it came with, to events.
type recordingLogger struct {
	loggerv1.UnimplementedLoggerServiceServer
	events chan loggedEvent
}

type loggedEvent struct {
	req *loggerv1.LogEventRequest
	key string
}

func (l *recordingLogger) LogEvent(ctx context.Context, req *loggerv1.LogEventRequest) (*loggerv1.LogEventResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := ""
	if v := md.Get("logger-write-key"); len(v) > 0 {
		key = v[0]
	}
	l.events <- loggedEvent{req: req, key: key}
	return &loggerv1.LogEventResponse{Id: 1}, nil
}

func serveLogger(t *testing.T, l *recordingLogger) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	loggerv1.RegisterLoggerServiceServer(srv, l)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// TestModerationIsAudited: with -logger-server, an admin's action reaches
// LoggerService as one event with the write key.
func TestModerationIsAudited(t *testing.T) {
	l := &recordingLogger{events: make(chan loggedEvent, 10)}
	cfg := testConfig(t, "-auth-server", serveAuth(t, nil), "-admins", "alice", "-logger-server", serveLogger(t, l))
	cfg.LoggerWriteKey = "k3y"
	s := start(t, cfg)
	cc := dial(t, s.Addr().String(), nil)
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok-alice"), wait)
	defer cancel()
	if _, err := chatpb.NewChatServiceClient(cc).Kick(ctx, &chatpb.KickRequest{User: "bob", Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-l.events:
		if e.req.GetEventType() != "CHAT_KICK" || e.req.GetDetails() != "actor=alice target=bob room=general reason=spam" ||
			e.key != "k3y" || e.req.GetEventId() == "" {
			t.Fatalf("LoggerService got %v with key %q", e.req, e.key)
		}
	case <-time.After(wait):
		t.Fatal("the kick did not reach LoggerService")
	}
}
