package chat

import (
	"fmt"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/server/broker"
)

// roomOf returns a service and a room of n members with roomy queues, not
// connected to any stream, to measure the fan-out alone, and a text of the
// first member's as it comes back from the broker. The service has no
// broker: nothing runs in the background to blur the measure.
func roomOf(tb testing.TB, n int) (*Service, *room, broker.Delivery) {
	s := &Service{cfg: Config{QueueSize: 1 << 12, History: 50}, log: slog.New(slog.DiscardHandler), metrics: noMetrics{}}
	r := newRoom("bench", 1<<12)
	for i := range n {
		m := newMember(uint64(i), "", r, 1<<12)
		m.name = fmt.Sprint("m", i)
		m.sess = &session{member: m, rec: &broker.Member{ID: m.name}}
		r.names[m.name] = m
		r.members = append(r.members, m)
	}
	msg := &chatpb.ChatMessage{User: "m0", Message: "hello, room", Kind: chatpb.ChatMessage_KIND_TEXT, Seq: 1}
	data, err := proto.Marshal(msg)
	if err != nil {
		tb.Fatal(err)
	}
	return s, r, broker.Delivery{Msg: msg, Data: data, Origin: "m0"}
}

// drain empties every queue but the sender's.
func drain(r *room) {
	for _, m := range r.members[1:] {
		for m.queue.Len() > 0 {
			m.queue.PopFront()
		}
	}
}

func TestBroadcastAllocationsDoNotGrowWithMembers(t *testing.T) {
	allocs := func(n int) float64 {
		s, r, d := roomOf(t, n)
		return testing.AllocsPerRun(200, func() {
			s.relay(r, d)
			drain(r)
		})
	}
	small, large := allocs(2), allocs(500)
	if large > small+1 {
		t.Fatalf("a broadcast allocates %.1f times to 1 member but %.1f times to 499", small, large)
	}
}

// BenchmarkBroadcast measures queueing one text, back from the broker, to
// every member of a room but its sender; deliveries/s is members/op-time.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("members=", n), func(b *testing.B) {
			s, r, d := roomOf(b, n)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.relay(r, d)
				if i%1024 == 1023 {
					b.StopTimer()
					drain(r)
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.N*(n-1))/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
