package streamread

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/polychat/polychat/server/broker/brokertest"
)

const wait = 10 * time.Second

// stream makes stream "S" (subjects s.*) on an in-process NATS server.
func stream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := brokertest.JetStream(t, brokertest.Server(t))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.*"}}); err != nil {
		t.Fatal(err)
	}
	return js
}

// A reader that loses its consumer (as with the NATS server that held it)
// reads on from the message after the last it handled: nothing lost, nothing
// twice, the order kept, and only its filters' subjects.
func TestReaderRidesOutALostConsumer(t *testing.T) {
	js := stream(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sent := 0
	say := func(n int) {
		for range n {
			if _, err := js.Publish(ctx, "s.a", []byte(fmt.Sprint(sent))); err != nil {
				t.Fatal(err)
			}
			if _, err := js.Publish(ctx, "s.other", []byte("not for this reader")); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	got := make(chan string, 100)
	r := Start(js, Options{Stream: "S", Filters: []string{"s.a"}, What: "a test", Expiry: 2 * time.Second},
		func(m jetstream.Msg) { got <- string(m.Data()) })
	shown := 0
	expect := func() {
		t.Helper()
		for ; shown < sent; shown++ {
			select {
			case g := <-got:
				if g != fmt.Sprint(shown) {
					t.Fatalf("got %q, want %d", g, shown)
				}
			case <-time.After(wait):
				t.Fatalf("message %d never came", shown)
			}
		}
	}
	say(3)
	expect()
	for round := range 3 {
		say(round)
		if n := brokertest.DeleteConsumers(t, js, "S"); n != 1 {
			t.Fatalf("round %d: deleted %d consumers", round, n)
		}
		say(2)
		expect()
	}
	r.Stop()
}
