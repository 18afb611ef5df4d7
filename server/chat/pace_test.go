package chat

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// pacedMetrics tells when a sender waits for its room.
type pacedMetrics struct {
	noMetrics
	paced chan struct{}
}

func (p pacedMetrics) SenderPaced() {
	select {
	case p.paced <- struct{}{}:
	default:
	}
}

// When a good part of a room stops keeping up (most of it, or a third
// while the rest reads on: a busy server serves its connections unevenly),
// its sender is slowed instead of those receivers being disconnected: once
// they read again, they get every text.
func TestRoomFallingBehindTogetherSlowsItsSender(t *testing.T) {
	for _, tc := range []struct{ slow, reading int }{{4, 0}, {3, 5}} {
		t.Run(fmt.Sprintf("%d of %d behind", tc.slow, tc.slow+tc.reading+1), func(t *testing.T) {
			roomFallsBehind(t, tc.slow, tc.reading)
		})
	}
}

// roomFallsBehind is TestRoomFallingBehindTogetherSlowsItsSender with
// slow receivers that read nothing for a while and reading ones that read
// all along.
func roomFallsBehind(t *testing.T, slowN, readingN int) {
	met := pacedMetrics{paced: make(chan struct{}, 1)}
	// A fixed window on the server too, so that few of the talker's texts
	// wait in the transport to be read when it is slowed: they come all at
	// once when the room has caught up.
	ts := startServer(t, Config{QueueSize: 128, Metrics: met},
		grpc.InitialWindowSize(64<<10), grpc.InitialConnWindowSize(64<<10))
	ts.svc.paceMax = time.Hour // the receivers' reading ends the wait, not a timer
	// Receivers that read nothing for now, and receivers that read on.
	slow := notReading(t, ts, "R", slowN)
	reading := notReading(t, ts, "F", readingN)
	errs := make(chan error, slowN+readingN)
	for i, st := range reading {
		go func() { errs <- readTexts(fmt.Sprint("F", i), st) }()
	}
	talker := ts.join(t, "Talker", "")

	// 4 KB texts, until the talker is slowed: far more than the windows
	// take in, and enough to fill the queues of 128 half way. Then one
	// more, "end". The receivers' queues fill at about the same pace, a
	// few texts apart, far less than the half between behind and full.
	pad := strings.Repeat("x", 4000)
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				sent <- talker.stream.Send(&chatpb.ChatMessage{Message: "end"})
				return
			default:
			}
			if err := talker.stream.Send(&chatpb.ChatMessage{Message: fmt.Sprintf("%04d %s", i, pad)}); err != nil {
				sent <- err
				return
			}
		}
	}()
	// The talker's own transport takes in what it sends for a while: what
	// counts is that the server stops reading it.
	select {
	case <-met.paced:
	case <-time.After(wait):
		t.Fatal("the talker was never slowed")
	}
	close(stop)
	// The slow receivers read again, together (the room catches up only
	// when most of them do): each receiver gets every text, in order.
	for i, st := range slow {
		go func() { errs <- readTexts(fmt.Sprint("R", i), st) }()
	}
	for range slowN + readingN {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// readTexts reads st until the text "end", checking that the texts before
// it are numbered in order, and says what went wrong if not.
func readTexts(name string, st chatpb.ChatService_ChatStreamClient) error {
	for want := 0; ; {
		m, err := st.Recv()
		if err != nil {
			return fmt.Errorf("%s: stream ended at text %d: %w", name, want, err)
		}
		if m.GetKind() != kText {
			continue // welcome and join notices
		}
		if m.GetMessage() == "end" {
			return nil
		}
		if !strings.HasPrefix(m.GetMessage(), fmt.Sprintf("%04d ", want)) {
			return fmt.Errorf("%s: got %.10q, want text %d", name, m.GetMessage(), want)
		}
		want++
	}
}

// dropMetrics tells when a slow member is disconnected.
type dropMetrics struct {
	noMetrics
	dropped chan struct{}
}

func (d dropMetrics) SlowClientDropped() { d.dropped <- struct{}{} }

// Members that stopped reading altogether slow their room's sender even
// when they are most of it, but cannot stop it: each text waits at most
// paceMax, after twice that they count as behind no more, their queues
// fill, and they are disconnected.
func TestStuckMajorityCannotStopTheRoom(t *testing.T) {
	met := dropMetrics{dropped: make(chan struct{}, 2)}
	ts := startServer(t, Config{QueueSize: 8, Metrics: met})
	ts.svc.paceMax = 10 * time.Millisecond
	stuck := notReading(t, ts, "S", 2)
	talker := ts.join(t, "Talker", "")
	pad := strings.Repeat("x", 4000)
	go func() {
		for i := 0; ; i++ {
			if talker.stream.Send(&chatpb.ChatMessage{Message: fmt.Sprintf("%04d %s", i, pad)}) != nil {
				return
			}
		}
	}()
	for i := range stuck {
		select {
		case <-met.dropped:
		case <-time.After(wait):
			t.Fatalf("%d of %d stuck members were never disconnected", len(stuck)-i, len(stuck))
		}
	}
	for i, st := range stuck {
		if err := recvUntilErr(t, st); code(err) != codes.ResourceExhausted {
			t.Fatalf("S%d ended with %v, want RESOURCE_EXHAUSTED", i, err)
		}
	}
}

// notReading joins n members named prefix0, prefix1... that read their
// welcome and then nothing, each on a connection of its own with a fixed
// 64 KiB window (no BDP growth), so that their queues fill soon.
func notReading(t *testing.T, ts *testServer, prefix string, n int) []chatpb.ChatService_ChatStreamClient {
	t.Helper()
	var out []chatpb.ChatService_ChatStreamClient
	for i := range n {
		cc := ts.conn(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
		st := ts.open(t, cc, chatwire.UserKey, fmt.Sprint(prefix, i))
		if m, err := st.Recv(); err != nil || m.GetKind() != kSys {
			t.Fatalf("%s%d: got %v %v, want its welcome", prefix, i, m, err)
		}
		out = append(out, st)
	}
	return out
}
