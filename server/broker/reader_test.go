package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/polychat/polychat/server/broker/brokertest"
)

// A room whose consumer goes away (as it does with the NATS server that
// held it) gets a new one from the record after the last it delivered:
// nothing is lost, nothing comes twice, the order holds.
func TestARoomWhoseConsumerIsLostGoesOnFromWhereItWas(t *testing.T) {
	b := open(t, nil)
	f := follow(t, b, "general")
	other := elsewhere(b, "general")
	sent := 0
	say := func(n int) {
		for range n {
			publish(t, other, text("general", "Alice", fmt.Sprint(sent)), "elsewhere")
			sent++
		}
	}
	shown := 0
	expect := func() {
		for ; shown < sent; shown++ {
			if got := f.next(t).Msg.GetMessage(); got != fmt.Sprint(shown) {
				t.Fatalf("got %q, want %d", got, shown)
			}
		}
	}
	say(3)
	expect()
	for round := range 3 {
		// Texts stored while the consumer goes, and after.
		say(round)
		if n := brokertest.DeleteConsumers(t, b.js, roomStream); n != 1 {
			t.Fatalf("round %d: deleted %d consumers", round, n)
		}
		say(2)
		expect()
	}
	select {
	case d := <-f.got:
		t.Fatalf("an extra delivery: %q", d.Msg.GetMessage())
	default:
	}
}

// A reader lagging the room by more than History records (its node busy,
// its consumer being made again) still gets every record: the stream keeps
// a margin beyond the history for it. A follower joining later still gets
// only the last History records as history.
func TestAReaderLaggingBehindTheHistoryLosesNothing(t *testing.T) {
	b := open(t, nil) // History 5
	first := make(chan struct{})
	release := make(chan struct{})
	got := make(chan Delivery, 100)
	r, err := b.Follow(ctx(t), "general", func([]Delivery) {}, func(d Delivery) {
		if d.Msg.GetMessage() == "0" {
			close(first)
			<-release // the node is busy with this record
		}
		got <- d
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	other := elsewhere(b, "general")
	publish(t, other, text("general", "Alice", "0"), "elsewhere")
	<-first
	// The consumer goes while the reader is busy: what is stored from now
	// on comes through the next one, made from the record after "0".
	brokertest.DeleteConsumers(t, b.js, roomStream)
	const n = 30 // six times the history
	for i := 1; i <= n; i++ {
		publish(t, other, text("general", "Alice", fmt.Sprint(i)), "elsewhere")
	}
	close(release)
	for i := 0; i <= n; i++ {
		select {
		case d := <-got:
			if d.Msg.GetMessage() != fmt.Sprint(i) {
				t.Fatalf("got %q, want %d", d.Msg.GetMessage(), i)
			}
		case <-time.After(wait):
			t.Fatalf("record %d of %d never came", i, n)
		}
	}
	late := follow(t, b, "general")
	if len(late.hist) != 5 || late.hist[0].Msg.GetMessage() != fmt.Sprint(n-4) {
		t.Fatalf("a later follower's history: %v, want the last 5 records", late.hist)
	}
}

// elsewhere returns room as a node that publishes to it and follows nothing
// sees it: what it publishes reaches a follower through the room's reader
// (a node delivers its own texts at once, without the reader).
func elsewhere(b *Broker, room string) *Room {
	return &Room{b: b, name: room, texts: roomSubject(room, textKind), notices: roomSubject(room, noticeKind)}
}
