package chat

import (
	"fmt"
	"log/slog"
	"testing"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// roomOf returns a service and a room of n members with roomy queues, not
// connected to any stream, to measure the hub alone.
func roomOf(n int) (*Service, *room) {
	s := New(Config{QueueSize: 1 << 12, Logger: slog.New(slog.DiscardHandler)})
	r := newRoom("bench")
	for i := range n {
		m := newMember(uint64(i), "", r, 1<<12)
		m.name = fmt.Sprint("m", i)
		r.names[m.name] = m
		r.members = append(r.members, m)
	}
	return s, r
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
		s, r := roomOf(n)
		in := &chatpb.ChatMessage{Message: "hello"}
		return testing.AllocsPerRun(200, func() {
			s.say(r.members[0], in, s.log)
			drain(r)
		})
	}
	small, large := allocs(2), allocs(500)
	if large > small+1 {
		t.Fatalf("a broadcast allocates %.1f times to 1 member but %.1f times to 499", small, large)
	}
}

// BenchmarkBroadcast measures queueing one text to every member of a room;
// deliveries/s is members/op-time.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("members=", n), func(b *testing.B) {
			s, r := roomOf(n)
			in := &chatpb.ChatMessage{Message: "hello, room"}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.say(r.members[0], in, s.log)
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
