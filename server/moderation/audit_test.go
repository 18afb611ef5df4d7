package moderation

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	loggerv1 "github.com/polychat/polychat/gen/go/polychat/logger/v1"
	"github.com/polychat/polychat/server/broker/brokertest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeLogger stores events by event_id once, as LoggerService does. While
// down it answers UNAVAILABLE; with lose > 0 it stores an event and then
// answers UNAVAILABLE, as when the answer is lost on the way back.
type fakeLogger struct {
	loggerv1.UnimplementedLoggerServiceServer
	mu      sync.Mutex
	down    bool
	lose    int
	calls   int
	ids     []string // stored, in order
	stored  map[string]*loggerv1.LogEventRequest
	writers []string
}

func (f *fakeLogger) LogEvent(ctx context.Context, req *loggerv1.LogEventRequest) (*loggerv1.LogEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return nil, status.Error(codes.Unavailable, "down")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get(writeKeyMetadata); len(got) != 1 || got[0] != "secret" {
		return nil, status.Error(codes.Unauthenticated, "wrong write key")
	}
	f.writers = append(f.writers, md.Get(writerMetadata)...)
	_, dup := f.stored[req.GetEventId()]
	if !dup {
		f.stored[req.GetEventId()] = req
		f.ids = append(f.ids, req.GetEventId())
	}
	if f.lose > 0 {
		f.lose--
		return nil, status.Error(codes.Unavailable, "answer lost")
	}
	return &loggerv1.LogEventResponse{Id: int64(len(f.ids)), Duplicate: dup}, nil
}

func (f *fakeLogger) set(change func(f *fakeLogger)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// watchedOutbox reports each delivery on a channel.
type watchedOutbox struct {
	Outbox
	delivered chan uint64
}

func (w watchedOutbox) Delivered(ctx context.Context, id uint64) error {
	err := w.Outbox.Delivered(ctx, id)
	w.delivered <- id
	return err
}

// startLogger serves f and returns a client of it.
func startLogger(t *testing.T, f *fakeLogger) loggerv1.LoggerServiceClient {
	t.Helper()
	f.stored = make(map[string]*loggerv1.LogEventRequest)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	loggerv1.RegisterLoggerServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return loggerv1.NewLoggerServiceClient(conn)
}

// runSender runs a Sender of store's outbox until the test ends and returns
// it with the channels of its deliveries and failures. The sender writes
// with the key the fake logger takes.
func runSender(t *testing.T, store Outbox, client loggerv1.LoggerServiceClient) (*Sender, chan uint64, chan error) {
	t.Helper()
	return runSenderWithKey(t, store, client, "secret")
}

// runSenderWithKey is runSender writing with key.
func runSenderWithKey(t *testing.T, store Outbox, client loggerv1.LoggerServiceClient, key string) (*Sender, chan uint64, chan error) {
	t.Helper()
	delivered := make(chan uint64, 100)
	failures := make(chan error, 100)
	s := NewSender(watchedOutbox{store, delivered}, client, "e1", key, nil)
	s.MaxBackoff = 20 * time.Millisecond
	s.failed = func(err error) {
		select {
		case failures <- err:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, delivered, failures
}

func waitDelivered(t *testing.T, delivered chan uint64, n int) []uint64 {
	t.Helper()
	var ids []uint64
	timeout := time.After(10 * time.Second)
	for len(ids) < n {
		select {
		case id := <-delivered:
			ids = append(ids, id)
		case <-timeout:
			t.Fatalf("delivered %v; want %d events", ids, n)
		}
	}
	return ids
}

// TestSenderDeliversOnceAfterLoggerWasDown takes actions while the logger
// is down: they wait in the outbox through failed attempts and reach the
// logger once each, in order, when it is back.
func TestSenderDeliversOnceAfterLoggerWasDown(t *testing.T) {
	f := &fakeLogger{down: true}
	client := startLogger(t, f)
	store := openShared(t, brokertest.Server(t), "n1")
	sender, delivered, failures := runSender(t, store, client)

	until := t0.Add(time.Hour)
	for _, a := range []Action{
		{Kind: Kick, Room: "general", Actor: "mia", Target: "bob", Reason: "too loud", At: t0},
		{Kind: Mute, Room: "general", Actor: "mia", Target: "bob", At: t0, Until: until},
		{Kind: Topic, Room: "general", Actor: "mia", Reason: "quiet please", At: t0},
	} {
		apply(t, store, a)
		sender.Notify()
	}
	for range 3 {
		if err := <-failures; status.Code(err) != codes.Unavailable {
			t.Fatalf("attempt failed with %v; want UNAVAILABLE", err)
		}
	}
	if pending, _ := store.Pending(context.Background(), 10); len(pending) != 3 {
		t.Fatalf("while the logger is down the outbox holds %d events; want 3", len(pending))
	}

	f.set(func(f *fakeLogger) { f.down = false })
	sender.Notify()
	if ids := waitDelivered(t, delivered, 3); !slices.Equal(ids, []uint64{1, 2, 3}) {
		t.Fatalf("delivered %v; want 1, 2, 3 in order", ids)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(f.ids, []string{"chat-e1-1", "chat-e1-2", "chat-e1-3"}) {
		t.Fatalf("the logger stored %v", f.ids)
	}
	mute := f.stored["chat-e1-2"]
	if mute.GetEventType() != "CHAT_MUTE" || mute.GetDetails() != "actor=mia target=bob room=general until=2026-01-02T15:00:00Z" ||
		!mute.GetTimestamp().AsTime().Equal(t0) {
		t.Fatalf("the mute was logged as %v", mute)
	}
	if kick := f.stored["chat-e1-1"]; kick.GetDetails() != `actor=mia target=bob room=general reason="too loud"` {
		t.Fatalf("the kick was logged as %q", kick.GetDetails())
	}
	if slices.ContainsFunc(f.writers, func(w string) bool { return w != "chat" }) {
		t.Fatalf("writers %v; want chat", f.writers)
	}
	if pending, _ := store.Pending(context.Background(), 10); len(pending) != 0 {
		t.Fatalf("after delivery the outbox holds %+v", pending)
	}
}

// TestSenderResendsWhenTheAnswerIsLost: the logger stored the event but the
// answer never came back; the resend carries the same event_id, so the
// event is in the log once.
func TestSenderResendsWhenTheAnswerIsLost(t *testing.T) {
	f := &fakeLogger{lose: 2}
	client := startLogger(t, f)
	store := NewMemory()
	apply(t, store, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", At: t0})
	_, delivered, _ := runSender(t, store, client)
	waitDelivered(t, delivered, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls != 3 || !slices.Equal(f.ids, []string{"chat-e1-1"}) {
		t.Fatalf("calls %d, stored %v; want 3 calls storing one event", f.calls, f.ids)
	}
}

// TestSenderKeepsEventsARefusedWriterCannotSend: a wrong write key is an
// operator's error to fix, not a reason to lose events.
func TestSenderKeepsEventsARefusedWriterCannotSend(t *testing.T) {
	f := &fakeLogger{}
	client := startLogger(t, f)
	store := NewMemory()
	apply(t, store, Action{Kind: Ban, Room: "general", Actor: "mia", Target: "bob", At: t0})
	_, _, failures := runSenderWithKey(t, store, client, "wrong")
	err := <-failures
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("failed with %v; want UNAUTHENTICATED", err)
	}
	if pending, _ := store.Pending(context.Background(), 10); len(pending) != 1 {
		t.Fatalf("the outbox holds %d events; want the refused one kept", len(pending))
	}
}

func TestDetailsQuoteWhatNeedsIt(t *testing.T) {
	got := Details(Action{Kind: Topic, Room: "big room", Actor: "mia", Reason: `say "hi"`})
	if want := `actor=mia room="big room" topic="say \"hi\""`; got != want {
		t.Fatalf("Details = %s; want %s", got, want)
	}
}
