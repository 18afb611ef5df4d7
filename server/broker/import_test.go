package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

// An import cut short goes on where it stopped: the texts the broker has
// are not stored twice, and a room's seqs go on from its last one.
func TestImportRoomGoesOnAfterAnInterruption(t *testing.T) {
	b := open(t, natsServer(t), func(o *Options) { o.Epoch = "00000000000000aa"; o.History = 10 })
	if !b.Created() || b.Epoch() != "00000000000000aa" {
		t.Fatalf("created %v, epoch %q", b.Created(), b.Epoch())
	}
	var msgs []*chatpb.ChatMessage
	for i := uint64(1); i <= 3; i++ {
		m := text("lobby", "u", fmt.Sprint("m", i))
		m.Id, m.Seq = 100+i, i
		msgs = append(msgs, m)
	}
	if err := b.ImportRoom(ctx(t), "lobby", msgs[:1], 1); err != nil { // as if cut short after m1
		t.Fatal(err)
	}
	for range 2 { // then done, and done again
		if err := b.ImportRoom(ctx(t), "lobby", msgs, 3); err != nil {
			t.Fatal(err)
		}
	}
	f := follow(t, b, "lobby")
	if len(f.hist) != 3 || f.hist[0].Msg.GetSeq() != 1 || f.hist[2].Msg.GetId() != 103 {
		t.Fatalf("history %v", f.hist)
	}
	publish(t, f.room, text("lobby", "u", "next"), "m")
	if d := f.next(t); d.Msg.GetSeq() != 4 {
		t.Fatalf("the next text has seq %d", d.Msg.GetSeq())
	}

	// A room whose history was deleted keeps only its seq.
	if err := b.ImportRoom(ctx(t), "empty", nil, 7); err != nil {
		t.Fatal(err)
	}
	if seq, err := b.LastSeq(ctx(t), "empty"); err != nil || seq != 7 {
		t.Fatalf("last seq %d, %v", seq, err)
	}
	rooms, err := b.Rooms(ctx(t))
	if err != nil || len(rooms) != 1 || rooms["lobby"].IsZero() {
		t.Fatalf("rooms with history %v, %v", rooms, err)
	}
}

// An imported member is held by no node: the first node to watch adopts
// it, dropped when it dropped.
func TestImportedMemberIsAdopted(t *testing.T) {
	ns := natsServer(t)
	b := open(t, ns)
	dropped := time.Now().Add(-time.Minute).Truncate(time.Second)
	m := &Member{ID: "m1", Session: "s1", Room: "lobby", Name: "Bob", Skeleton: "bob", Named: true, DroppedAt: dropped}
	if err := b.ImportMember(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	if err := b.ImportMember(ctx(t), m); err != nil { // imported again: left as it is
		t.Fatal(err)
	}
	adopted := make(chan []*Member, 1)
	if err := b.Watch(ctx(t), func(string, string) {}, func(ms []*Member) { adopted <- ms }); err != nil {
		t.Fatal(err)
	}
	select {
	case ms := <-adopted:
		if len(ms) != 1 || ms[0].Name != "Bob" || !ms[0].DroppedAt.Equal(dropped) || ms[0].Node != "" {
			t.Fatalf("orphans %+v", ms)
		}
	case <-time.After(wait):
		t.Fatal("the imported member was not offered for adoption")
	}
	if got, err := b.Lookup(ctx(t), "s1"); err != nil || got == nil || got.Name != "Bob" {
		t.Fatalf("session s1: %+v, %v", got, err)
	}
}

// With MaxBytes, the room stream keeps at most that many bytes: the
// oldest records go first.
func TestMaxBytesBoundsTheRooms(t *testing.T) {
	b := open(t, nil, func(o *Options) { o.MaxBytes = 64 << 10 })
	for i := range 100 {
		r := follow(t, b, fmt.Sprint("room", i)).room
		publish(t, r, text(r.Name(), "u", string(make([]byte, 2048))), "m")
	}
	info, err := b.rooms.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Bytes > 64<<10 || info.State.Msgs >= 100 {
		t.Fatalf("the stream keeps %d records, %d bytes; the bound is %d", info.State.Msgs, info.State.Bytes, 64<<10)
	}
}

// A request no JetStream server answered (a stream without a leader, while
// one is elected) is tried again until it is answered or the time is up;
// any other failure is at once.
func TestAgainWaitsOutALeaderElection(t *testing.T) {
	tries := 0
	v, err := again(ctx(t), func() (int, error) {
		if tries++; tries < 3 {
			return 0, nats.ErrNoResponders
		}
		return 7, nil
	})
	if v != 7 || err != nil || tries != 3 {
		t.Fatalf("again = %d, %v after %d tries", v, err, tries)
	}
	tries = 0
	if err := againErr(ctx(t), func() error { tries++; return jetstream.ErrKeyExists }); !errors.Is(err, jetstream.ErrKeyExists) || tries != 1 {
		t.Fatalf("another failure: %v after %d tries", err, tries)
	}
	short, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := againErr(short, func() error { return jetstream.ErrNoStreamResponse }); !leaderless(err) {
		t.Fatalf("out of time: %v", err)
	}
}
