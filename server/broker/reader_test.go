package broker

import (
	"fmt"
	"testing"
)

// A room whose consumer goes away (as it does with the NATS server that
// held it) gets a new one from the record after the last it delivered:
// nothing is lost, nothing comes twice, the order holds.
func TestARoomWhoseConsumerIsLostGoesOnFromWhereItWas(t *testing.T) {
	b := open(t, nil)
	f := follow(t, b, "general")
	sent := 0
	say := func(n int) {
		for range n {
			publish(t, f.room, text("general", "Alice", fmt.Sprint(sent)), "elsewhere")
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
		lister := b.rooms.ListConsumers(ctx(t))
		n := 0
		for info := range lister.Info() {
			if err := b.js.DeleteConsumer(ctx(t), roomStream, info.Name); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := lister.Err(); err != nil || n != 1 {
			t.Fatalf("round %d: deleted %d consumers: %v", round, n, err)
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
