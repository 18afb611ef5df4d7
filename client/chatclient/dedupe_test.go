package chatclient

import (
	"testing"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
)

func text(epoch string, id, seq uint64) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_TEXT, Epoch: epoch, Id: id, Seq: seq}
}

func sys(epoch string, id uint64) *chatpb.ChatMessage {
	return &chatpb.ChatMessage{Kind: chatpb.ChatMessage_KIND_SYSTEM, Epoch: epoch, Id: id}
}

func TestDedupe(t *testing.T) {
	var d dedupe
	if got := d.resumeFrom(); got != "" {
		t.Errorf("resumeFrom() = %q before any epoch, want empty", got)
	}
	steps := []struct {
		msg  *chatpb.ChatMessage
		want bool
		from string
	}{
		{sys("e1", 10), true, "e1:0"},     // welcome: the epoch is known, no text yet
		{text("e1", 11, 1), true, "e1:1"}, // history
		{text("e1", 12, 2), true, "e1:2"},
		{text("e1", 12, 2), false, "e1:2"}, // replayed again
		{text("e1", 11, 1), false, "e1:2"},
		{sys("e1", 10), false, "e1:2"}, // a notice seen before
		{sys("e1", 0), true, "e1:2"},   // a notice without id is never dropped
		{sys("e1", 0), true, "e1:2"},
		{text("e1", 15, 3), true, "e1:3"},
		{text("e2", 3, 1), true, "e2:1"}, // a new store: ids start over
		{text("e2", 4, 2), true, "e2:2"},
		{sys("e2", 10), true, "e2:2"},   // e1's notice ids are forgotten
		{text("", 11, 1), true, "e2:2"}, // no epoch: never dropped, no state
		{text("", 11, 1), true, "e2:2"},
		{text("e2", 4, 2), false, "e2:2"},
	}
	for i, st := range steps {
		if got := d.admit(st.msg); got != st.want {
			t.Errorf("step %d: admit(%v) = %v, want %v", i, st.msg, got, st.want)
		}
		if got := d.resumeFrom(); got != st.from {
			t.Errorf("step %d: resumeFrom() = %q, want %q", i, got, st.from)
		}
	}
}

func TestDedupeNoticeMemoryIsBounded(t *testing.T) {
	var d dedupe
	for id := uint64(1); id <= noticeMemory+1; id++ {
		d.admit(sys("e", id))
	}
	if len(d.notices) != noticeMemory || len(d.ring) != noticeMemory {
		t.Fatalf("remembers %d/%d notice ids, want %d", len(d.notices), len(d.ring), noticeMemory)
	}
	if !d.admit(sys("e", 1)) {
		t.Error("the oldest notice id is still remembered past the bound")
	}
	if d.admit(sys("e", noticeMemory+1)) {
		t.Error("a recent notice id was forgotten")
	}
}

// Whatever order and repetition the server replays text in, within an
// epoch each seq is shown at most once and the shown seqs increase.
func FuzzDedupeShowsEachSeqOnce(f *testing.F) {
	f.Add([]byte{1, 2, 3, 2, 1, 4, 0, 5})
	f.Add([]byte{5, 5, 5, 200, 1})
	f.Fuzz(func(t *testing.T, seqs []byte) {
		var d dedupe
		shown := map[uint64]bool{}
		var last uint64
		for _, b := range seqs {
			epoch := "a"
			if b >= 200 { // a store replaced
				epoch = "b"
			}
			if epoch != d.epoch {
				shown, last = map[uint64]bool{}, 0
			}
			seq := uint64(b % 100)
			msg := text(epoch, seq+1000, seq)
			if seq == 0 {
				msg = sys(epoch, uint64(b))
			}
			if d.admit(msg) && seq > 0 {
				if shown[seq] || seq <= last {
					t.Fatalf("seq %d shown again or out of order (last %d) in %v", seq, last, seqs)
				}
				shown[seq], last = true, seq
			}
		}
	})
}
