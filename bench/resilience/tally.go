package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tally counts how often one receiver showed each numbered message: per
// sender, the times message n (1, 2, ...) was shown.
type tally struct {
	counts [][]uint16
}

func newTally(senders int) *tally {
	return &tally{counts: make([][]uint16, senders)}
}

// add records that message n of sender was shown once more. Numbers out of
// range are ignored: they are no message of this run.
func (t *tally) add(sender, n int) {
	if sender < 0 || sender >= len(t.counts) || n < 1 {
		return
	}
	c := t.counts[sender]
	if n > len(c) {
		c = slices.Grow(c, n-len(c))[:n]
		t.counts[sender] = c
	}
	if c[n-1] < ^uint16(0) {
		c[n-1]++
	}
}

// score compares what was shown with what each sender sent (sent[i]
// messages numbered 1..sent[i]) and returns the messages never shown
// (lost), the extra showings of messages shown more than once
// (duplicates), and all showings (delivered). The receiver's own messages,
// those of sender self (-1: it sends none), are not expected: the server
// does not echo them.
func (t *tally) score(sent []int, self int) (lost, duplicates, delivered int) {
	for s, total := range sent {
		if s == self {
			continue
		}
		var c []uint16
		if s < len(t.counts) {
			c = t.counts[s]
		}
		for n := 1; n <= total; n++ {
			k := 0
			if n <= len(c) {
				k = int(c[n-1])
			}
			switch {
			case k == 0:
				lost++
			case k > 1:
				duplicates += k - 1
			}
			delivered += k
		}
	}
	return lost, duplicates, delivered
}

// shownFilter is the client's rule for messages it already showed: within
// one epoch, text seqs only grow, so a text whose seq is not above the last
// one shown is a repeat. A new epoch (another store) starts afresh.
type shownFilter struct {
	epoch string
	last  uint64
}

// admit reports whether a text with epoch and seq is shown, and whether its
// epoch replaced the one before. A text without a seq (an old server) is
// always shown.
func (f *shownFilter) admit(epoch string, seq uint64) (show, reset bool) {
	if epoch != f.epoch {
		reset = f.epoch != ""
		f.epoch, f.last = epoch, 0
	}
	if seq == 0 {
		return true, reset
	}
	if seq <= f.last {
		return false, reset
	}
	f.last = seq
	return true, reset
}

// resumeFrom is the chat-resume-from value for what f has shown ("" before
// any message told the epoch).
func (f *shownFilter) resumeFrom() string {
	if f.epoch == "" {
		return ""
	}
	return f.epoch + ":" + strconv.FormatUint(f.last, 10)
}

// messageText is the text of message n of sender s.
func messageText(s, n int) string {
	return fmt.Sprintf("rs%d #%d", s, n)
}

// parseText reads the sender and number back from a messageText.
func parseText(text string) (sender, n int, ok bool) {
	rest, found := strings.CutPrefix(text, "rs")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, " #")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(a)
	k, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || s < 0 || k < 1 {
		return 0, 0, false
	}
	return s, k, true
}

// quantile returns the q-quantile of ds (nearest rank; 0 for none). ds is
// sorted in place.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
