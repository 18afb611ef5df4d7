package broker

import (
	"context"
	"testing"
)

// BenchmarkPublishFollow measures a text's way through the embedded
// server: published with its seq, stored, delivered to a follower.
func BenchmarkPublishFollow(b *testing.B) {
	br, err := Open(context.Background(), Options{History: 50, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	got := make(chan struct{}, 1<<16)
	r, err := br.Follow(context.Background(), "bench", func([]Delivery) {}, func(Delivery) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			r.Publish(text("bench", "u", "0123456789012345678901234567890123456789012345678901234567890123"), "m", nil)
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
	br, err := Open(context.Background(), Options{History: 50, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	got := make(chan struct{}, 1)
	r, err := br.Follow(context.Background(), "bench", func([]Delivery) {}, func(Delivery) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r.Publish(text("bench", "u", "0123456789012345678901234567890123456789012345678901234567890123"), "m", nil)
		<-got
	}
}
