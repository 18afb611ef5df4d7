package main

import (
	"testing"
	"time"
)

func TestScoreCountsLostAndDuplicates(t *testing.T) {
	tl := newTally(3)
	for _, n := range []int{1, 2, 2, 4} { // 3 never shown, 2 twice
		tl.add(0, n)
	}
	for _, n := range []int{1, 2, 3, 3, 3} { // 3 three times
		tl.add(1, n)
	}
	tl.add(2, 1) // the receiver's own: not expected, not counted
	tl.add(7, 1) // no such sender
	tl.add(0, 0) // no such number
	lost, dup, got := tl.score([]int{4, 3, 1}, 2)
	if lost != 1 || dup != 3 || got != 9 {
		t.Fatalf("lost %d, duplicates %d, delivered %d; want 1, 3, 9", lost, dup, got)
	}
	// Messages sent but never reaching this receiver, from a sender it never
	// heard from at all, are lost too.
	lost, dup, got = newTally(2).score([]int{2, 3}, -1)
	if lost != 5 || dup != 0 || got != 0 {
		t.Fatalf("empty tally: lost %d, duplicates %d, delivered %d; want 5, 0, 0", lost, dup, got)
	}
}

func TestShownFilterDropsRepeatsWithinAnEpoch(t *testing.T) {
	var f shownFilter
	if f.resumeFrom() != "" {
		t.Fatalf("resume point before any message: %q", f.resumeFrom())
	}
	steps := []struct {
		epoch       string
		seq         uint64
		show, reset bool
	}{
		{"a", 1, true, false},
		{"a", 2, true, false},
		{"a", 2, false, false}, // replayed again
		{"a", 1, false, false},
		{"a", 0, true, false}, // no seq: an old server, always shown
		{"a", 5, true, false}, // a gap is shown (the server tells what is missed)
		{"b", 1, true, true},  // another store: start afresh
		{"b", 1, false, false},
	}
	for i, s := range steps {
		show, reset := f.admit(s.epoch, s.seq)
		if show != s.show || reset != s.reset {
			t.Fatalf("step %d (%s:%d): show %v reset %v, want %v %v", i, s.epoch, s.seq, show, reset, s.show, s.reset)
		}
	}
	if got := f.resumeFrom(); got != "b:1" {
		t.Fatalf("resume point %q, want b:1", got)
	}
}

func TestMessageTextRoundTrips(t *testing.T) {
	s, n, ok := parseText(messageText(4, 1234))
	if !ok || s != 4 || n != 1234 {
		t.Fatalf("parse(%q) = %d, %d, %v", messageText(4, 1234), s, n, ok)
	}
	for _, bad := range []string{"", "hello", "rs #1", "rs1 #0", "rs1 #x", "rs-1 #2", "rs1 2"} {
		if _, _, ok := parseText(bad); ok {
			t.Errorf("parseText(%q) accepted", bad)
		}
	}
}

func TestQuantileNearestRank(t *testing.T) {
	if quantile(nil, 0.5) != 0 {
		t.Fatal("quantile of nothing is not 0")
	}
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.99: 99, 1: 100, 0: 1} {
		if got := quantile(ds, q); got != want*time.Millisecond {
			t.Errorf("q%v = %v, want %v ms", q, got, want)
		}
	}
}
