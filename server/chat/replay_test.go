package chat

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	chatpb "github.com/polychat/polychat/gen/go/polychat/chat"
	"github.com/polychat/polychat/internal/chatwire"
)

// FuzzPlanReplay checks the replay rule on any history: the client's resume
// point, the missed count and the replayed messages cover every seq up to
// the newest exactly once, in order; another epoch or a point beyond the
// newest message is a reset with the whole history.
func FuzzPlanReplay(f *testing.F) {
	for _, seed := range []struct {
		last, kept, from uint64
		sameEpoch        bool
	}{
		{0, 0, 0, true}, {5, 5, 0, true}, {5, 5, 5, true}, {10, 3, 1, true}, {10, 3, 7, true},
		{10, 3, 8, true}, {10, 0, 4, true}, {10, 3, 11, true}, {10, 3, 4, false}, {1 << 62, 50, 1<<62 - 60, true},
	} {
		f.Add(seed.last, seed.kept, seed.from, seed.sameEpoch)
	}
	f.Fuzz(func(t *testing.T, last, kept, from uint64, sameEpoch bool) {
		kept = min(kept%64, last) // history keeps the newest kept messages
		var hist []*chatpb.ChatMessage
		for seq := last - kept + 1; seq <= last && kept > 0; seq++ {
			hist = append(hist, &chatpb.ChatMessage{Seq: seq})
		}
		epoch := "e1"
		point := &resumePoint{epoch: "e1", seq: from}
		if !sameEpoch {
			point.epoch = "e0"
		}
		p := planReplay(epoch, last, hist, point)
		if !sameEpoch || from > last {
			if !p.reset || !p.block || p.missed != 0 || len(p.msgs) != len(hist) {
				t.Fatalf("from %d in another history: %+v", from, p)
			}
			return
		}
		if p.reset || p.block {
			t.Fatalf("same epoch, from %d of %d: %+v", from, last, p)
		}
		next := from + 1 + p.missed // the seq the replay must start at
		for _, m := range p.msgs {
			if m.GetSeq() != next {
				t.Fatalf("from %d, missed %d: replayed seq %d, want %d", from, p.missed, m.GetSeq(), next)
			}
			next++
		}
		if next != last+1 {
			t.Fatalf("from %d, missed %d, %d replayed: ends before %d, want %d", from, p.missed, len(p.msgs), next, last+1)
		}
	})
	// No history given at all, with a point: everything after it missed.
	if p := planReplay("e", 9, nil, &resumePoint{epoch: "e", seq: 4}); p.missed != 5 || len(p.msgs) != 0 {
		f.Fatalf("empty history: %+v", p)
	}
}

// FuzzParseResumeFrom: what parses is an epoch and a decimal number, and
// prints back to itself; nothing panics.
func FuzzParseResumeFrom(f *testing.F) {
	for _, s := range []string{"3f9c0a1b2c3d4e5f:42", "e:0", ":1", "e:", "e:-1", "e:+1", "e::1", "é:1", "e:18446744073709551615", "e:18446744073709551616"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseResumeFrom(s)
		if err != nil {
			if !strings.Contains(err.Error(), chatwire.ResumeFromKey) {
				t.Fatalf("%q: error %v does not name the key", s, err)
			}
			return
		}
		epoch, seq, _ := strings.Cut(s, ":")
		if epoch != p.epoch || strings.Trim(seq, "0123456789") != "" {
			t.Fatalf("%q parsed as %+v", s, p)
		}
		if again, err := parseResumeFrom(fmt.Sprintf("%s:%d", p.epoch, p.seq)); err != nil || again != p {
			t.Fatalf("%+v printed and parsed again: %+v, %v", p, again, err)
		}
	})
}

// A receiver that drops its connection at random points and resumes from
// the last seq it showed, while a sender goes on, sees every message once
// and in order, or is told exactly how many it missed: across random
// schedules, with a history short enough for gaps.
func TestResumeNeverLosesOrRepeats(t *testing.T) {
	for round := range 20 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(round), 7))
			ts := startServer(t, Config{History: 1 + rng.IntN(8), ResumeGrace: grace})
			sender := ts.joinDroppable(t, "Sender")
			recv := ts.joinDroppable(t, "Receiver")
			sender.expect(kJoin, "Receiver joined the room")
			token, epoch := recv.welcome.GetResumeToken(), recv.welcome.GetEpoch()
			var shown, missed, sent uint64
			for range 6 {
				// Live: some messages arrive while connected.
				for range rng.IntN(5) {
					sent++
					sender.say(fmt.Sprint("m", sent))
					m := recv.expectText("Sender", fmt.Sprint("m", sent))
					if m.GetSeq() != shown+1 {
						t.Fatalf("live seq %d after %d", m.GetSeq(), shown)
					}
					shown = m.GetSeq()
				}
				recv.drop()
				// Offline: some are sent meanwhile.
				for range rng.IntN(12) {
					sent++
					sender.say(fmt.Sprint("m", sent))
				}
				recv = ts.joinDroppable(t, "Receiver", chatwire.ResumeTokenKey, token,
					chatwire.ResumeFromKey, resumeFrom(epoch, shown))
				if !recv.welcome.GetResumed() {
					t.Fatalf("not resumed: %v", recv.welcome)
				}
				sender.say("marker")
				sent++
				for {
					m := recv.next()
					if m.GetKind() == kSys {
						var k uint64
						if _, err := fmt.Sscanf(m.GetMessage(), "You missed %d", &k); err != nil {
							t.Fatalf("unexpected notice %q", m.GetMessage())
						}
						missed += k
						shown += k
						continue
					}
					if m.GetKind() != kText || m.GetSeq() != shown+1 {
						t.Fatalf("got %s seq %d after %d", m.GetKind(), m.GetSeq(), shown)
					}
					shown = m.GetSeq()
					if m.GetMessage() == "marker" {
						break
					}
				}
			}
			if shown != sent {
				t.Fatalf("accounted for %d of %d messages (%d missed)", shown, sent, missed)
			}
		})
	}
}
