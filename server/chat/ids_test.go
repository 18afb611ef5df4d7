package chat

import (
	"log/slog"
	"testing"
	"time"

	"github.com/polychat/polychat/internal/chatwire"
	"github.com/polychat/polychat/server/broker"
)

// holdIDs returns a broker Before hook that has h hold back the
// reservations of message ids (not those of Client(N) numbers).
func holdIDs(h *holder) func(broker.Op, string) {
	return func(op broker.Op, counter string) {
		if op == broker.OpReserve && counter == broker.MessageIDs {
			h.beforePublish(counter)
		}
	}
}

// takeID returns src's next id, failing the test if it waits for the
// broker.
func takeID(t *testing.T, src *counter) uint64 {
	t.Helper()
	got := make(chan uint64, 1)
	go func() { got <- src.nextID() }()
	select {
	case id := <-got:
		return id
	case <-time.After(wait):
		t.Fatal("taking an id waited for the broker")
	}
	return 0
}

// The next block of ids is reserved ahead: while that reservation is slow,
// the ids left in the current block are handed out without waiting. Ids
// keep increasing, and two nodes never hand out the same one.
func TestIDsAreReservedAhead(t *testing.T) {
	h := newHolder()
	b := openBroker(t, broker.Options{History: chatwire.HistorySize, Before: holdIDs(h)})
	log := slog.New(slog.DiscardHandler)
	src, other := newIDs(b, log, 8), newIDs(b, log, 8)
	seen := make(map[uint64]bool)
	var last uint64
	take := func(s *counter) uint64 {
		t.Helper()
		id := takeID(t, s)
		if seen[id] {
			t.Fatalf("id %d handed out twice", id)
		}
		seen[id] = true
		return id
	}
	last = take(src) // the first block, reserved on demand
	take(other)
	h.hold()
	for range 5 { // 6 of 8 used: the next block is reserved now
		if id := take(src); id <= last {
			t.Fatalf("id %d after %d", id, last)
		} else {
			last = id
		}
	}
	h.held(t)
	for range 2 { // the rest of the block does not wait for it
		if id := take(src); id <= last {
			t.Fatalf("id %d after %d", id, last)
		} else {
			last = id
		}
	}
	// The block is used up: the next id waits for the reservation.
	next := make(chan uint64, 1)
	go func() { next <- src.nextID() }()
	h.release()
	select {
	case id := <-next:
		if id <= last || seen[id] {
			t.Fatalf("id %d after %d, or handed out before", id, last)
		}
		last = id
	case <-time.After(wait):
		t.Fatal("no id once the reservation went through")
	}
	for range 20 {
		take(other)
		if id := take(src); id <= last {
			t.Fatalf("id %d after %d", id, last)
		} else {
			last = id
		}
	}
}

// Without the broker, ids still go on increasing (their uniqueness across
// nodes waits for it), rather than every text waiting.
func TestIDsGoOnWithoutTheBroker(t *testing.T) {
	b := openBroker(t, broker.Options{History: chatwire.HistorySize})
	src := newIDs(b, slog.New(slog.DiscardHandler), 4)
	last := takeID(t, src)
	b.Close()
	for range 10 {
		id := takeID(t, src)
		if id <= last {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
	}
}

// Client(N) numbers are not made up: once the reserved ones are used, a
// stream that cannot reserve more gets none.
func TestClientNumbersNeedTheBroker(t *testing.T) {
	b := openBroker(t, broker.Options{History: chatwire.HistorySize})
	nums := newClientNumbers(b, slog.New(slog.DiscardHandler), 4)
	first, err := nums.take()
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for i := range uint64(3) { // the rest of the block
		if n, err := nums.take(); err != nil || n != first+1+i {
			t.Fatalf("got %d, %v; want %d", n, err, first+1+i)
		}
	}
	if n, err := nums.take(); err == nil {
		t.Fatalf("got %d without the broker, want an error", n)
	}
}
