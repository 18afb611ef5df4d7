package chat

import (
	"log/slog"
	"sync"

	"github.com/polychat/polychat/server/broker"
)

// idBlock is how many ids are reserved from the broker at a time, so its
// counter is written once per idBlock messages rather than once per message.
const idBlock = 1024

// clientNumberBlock is how many Client(N) numbers a node reserves at once.
const clientNumberBlock = 64

// counter hands out increasing numbers of a counter in the broker (message
// ids, Client(N) numbers), reserving them in blocks so that they keep
// increasing across restarts and never collide between chat nodes.
//
// Numbers are taken under locks (a room's ids follow its delivery order),
// so the next block is reserved ahead, in the background, once the current
// one is three-quarters used: taking a number waits for the broker only
// when a quarter of a block goes by faster than the broker answers, or
// when reserving failed.
type counter struct {
	broker *broker.Broker
	log    *slog.Logger
	name   string // the counter in the broker
	block  uint64 // numbers per reservation
	// lenient, when a block runs out and the next cannot be reserved,
	// goes on from where it is instead of failing: the numbers still
	// increase on this node, only their uniqueness across nodes and
	// restarts is weakened until a reservation succeeds again.
	lenient bool

	mu          sync.Mutex
	next, limit uint64
	// spare is the first number of the block reserved ahead (0: none yet).
	spare uint64
	// reserving is closed when the reservation in flight ends (nil: none
	// is); failed is why the last one failed (nil if it did not).
	reserving chan struct{}
	failed    error
}

// newIDs returns the counter of message ids, reserved block at a time: a
// message always gets an id.
func newIDs(b *broker.Broker, log *slog.Logger, block uint64) *counter {
	return &counter{broker: b, log: log, name: broker.MessageIDs, block: block, lenient: true}
}

// newClientNumbers returns the counter of Client(N) numbers, reserved block
// at a time: a stream that cannot get one is refused.
func newClientNumbers(b *broker.Broker, log *slog.Logger, block uint64) *counter {
	return &counter{broker: b, log: log, name: broker.ClientNumbers, block: block}
}

// nextID returns a new message id from c, a counter of newIDs. Callers that
// need ids in delivery order within a room call it while holding the room
// lock.
func (c *counter) nextID() uint64 {
	id, _ := c.take()
	return id
}

// take returns the next number, or, unless c is lenient, the broker's
// error when none is reserved.
func (c *counter) take() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.next >= c.limit {
		if c.spare != 0 {
			if c.spare > c.next {
				c.next = c.spare
			}
			c.limit, c.spare = c.next+c.block, 0
			break
		}
		if c.reserving == nil {
			c.reserveLocked()
		}
		done := c.reserving
		c.mu.Unlock()
		<-done
		c.mu.Lock()
		if c.spare == 0 && c.next >= c.limit && c.failed != nil {
			if !c.lenient {
				return 0, c.failed
			}
			c.limit = c.next + c.block
		}
	}
	n := c.next
	c.next++
	if c.spare == 0 && c.reserving == nil && c.limit-c.next <= c.block/4 {
		c.reserveLocked()
	}
	return n, nil
}

// reserveLocked reserves the next block in the background, into spare.
// c.mu must be held.
func (c *counter) reserveLocked() {
	done := make(chan struct{})
	c.reserving = done
	go func() {
		ctx, cancel := brokerCtx()
		first, err := c.broker.Reserve(ctx, c.name, c.block)
		cancel()
		if err != nil {
			c.log.Error("cannot reserve numbers from the broker", "counter", c.name, "err", err)
		}
		c.mu.Lock()
		if err == nil {
			c.spare = first
		}
		c.failed = err
		c.reserving = nil
		close(done)
		c.mu.Unlock()
	}()
}
