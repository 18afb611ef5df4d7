package main

import (
	"testing"
	"time"
)

func ns(list []*outMsg) []int {
	var out []int
	for _, m := range list {
		out = append(out, m.n)
	}
	return out
}

func TestOutboxResendsWhatWasInTheAirFirstAndSkipsWhatArrived(t *testing.T) {
	o := newOutbox(2 * time.Second)
	t0 := time.Unix(1000, 0)
	for n := 1; n <= 5; n++ {
		o.add(&outMsg{n: n, id: messageText(0, n)})
	}
	for i := range 4 { // 1 at t0, 2 at t0+1s, ... 4 at t0+3s
		if m, ok := o.next(t0.Add(time.Duration(i) * time.Second)); !ok || m.n != i+1 {
			t.Fatalf("send %d: got %v %v", i, m, ok)
		}
	}
	// 1 went out more than the window before 4: dropped from the air.
	if got := ns(o.inAir); len(got) != 3 || got[0] != 2 {
		t.Fatalf("in the air: %v, want [2 3 4]", got)
	}
	o.lost(t0.Add(4500 * time.Millisecond)) // 2 is now older than the window too
	o.arrived(messageText(0, 3))            // replayed by the server
	if got := ns(o.queued); len(got) != 2 || got[0] != 4 || got[1] != 5 {
		t.Fatalf("queued after the loss: %v, want [4 5]", got)
	}
	m, _ := o.next(t0.Add(5 * time.Second))
	if m.n != 4 || o.resends() != 1 || o.pending() != 1 {
		t.Fatalf("resent %d (resends %d, pending %d), want 4 (1, 1)", m.n, o.resends(), o.pending())
	}
	select {
	case <-o.ready:
	default:
		t.Fatal("adding did not signal")
	}
}
