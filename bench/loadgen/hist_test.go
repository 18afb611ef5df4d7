package main

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func TestBucketsCoverValuesInOrder(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets - 1 {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], previous ended at %d", i, lo, hi, prevHi)
		}
		for _, v := range []int64{lo, hi, (lo + hi) / 2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		if lo >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-9 {
			t.Fatalf("bucket %d = [%d, %d] is wider than 1/%d of its value", i, lo, hi, subCount)
		}
		prevHi = hi
	}
}

func TestQuantilesMatchSortedSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h hist
	vals := make([]int64, 100_000)
	for i := range vals {
		// Log-normal-ish latencies from 1 µs to ~1 s.
		vals[i] = int64(r.ExpFloat64()*300) + int64(r.IntN(1000))
		if i%1000 == 0 {
			vals[i] = int64(r.IntN(1_000_000))
		}
		h.Record(vals[i])
	}
	slices.Sort(vals)
	if h.Count() != uint64(len(vals)) {
		t.Fatalf("count = %d, want %d", h.Count(), len(vals))
	}
	if h.Max() != vals[len(vals)-1] {
		t.Fatalf("max = %d, want %d", h.Max(), vals[len(vals)-1])
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subCount+1 {
			t.Errorf("q%.3f = %d, want %d (within 1/%d above)", q, got, want, subCount)
		}
	}
}

func TestSmallAndEdgeValues(t *testing.T) {
	var h hist
	if h.Quantile(0.99) != 0 {
		t.Fatal("empty histogram should report 0")
	}
	for _, v := range []int64{-5, 0, 1, 2, 3} {
		h.Record(v)
	}
	if got := h.Quantile(0.5); got != 1 {
		t.Fatalf("median of {0,0,1,2,3} = %d, want 1", got)
	}
	h.Record(1 << 62) // beyond the range: lands in the last bucket, max stays exact
	if h.Max() != 1<<62 || h.Quantile(1) != 1<<62 {
		t.Fatalf("max = %d, q1 = %d", h.Max(), h.Quantile(1))
	}
}

func TestConcurrentRecordAndMerge(t *testing.T) {
	var a, b hist
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10_000 {
				if g%2 == 0 {
					a.Record(int64(i))
				} else {
					b.Record(int64(i))
				}
			}
		}()
	}
	wg.Wait()
	a.Merge(&b)
	if a.Count() != 80_000 || a.Max() != 9_999 {
		t.Fatalf("count = %d, max = %d", a.Count(), a.Max())
	}
	if got := a.Quantile(0.5); got < 4_999 || got > 5_100 {
		t.Fatalf("median = %d, want about 5000", got)
	}
}
