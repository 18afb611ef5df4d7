package broker

import (
	"context"
	"testing"
)

// benchRoom opens an embedded broker and follows room "bench", calling
// deliver with each delivery.
func benchRoom(b *testing.B, deliver func(Delivery)) *Room {
	b.Helper()
	br, err := Open(context.Background(), Options{History: 50, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	r, err := br.Follow(context.Background(), "bench", func([]Delivery) {}, deliver)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}

const benchText = "0123456789012345678901234567890123456789012345678901234567890123"

// BenchmarkPublishFollow measures a text's way through the embedded
// server: published with its seq, stored, delivered to a follower.
func BenchmarkPublishFollow(b *testing.B) {
	got := make(chan struct{}, 1<<16)
	r := benchRoom(b, func(Delivery) { got <- struct{}{} })
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			r.Publish(text("bench", "u", benchText), "m", nil)
		}
	}()
	for range b.N {
		<-got
	}
}

// BenchmarkPublishOneInFlight measures one text at a time: published,
// stored and delivered on this node before the next is published (the
// latency a lone conversation sees).
func BenchmarkPublishOneInFlight(b *testing.B) {
	got := make(chan struct{}, 1)
	r := benchRoom(b, func(Delivery) { got <- struct{}{} })
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Publish(text("bench", "u", benchText), "m", nil)
		<-got
	}
}
