package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// subBits sets the histogram's precision: every power of two is split into
// 2^subBits buckets, so a recorded value is off by at most 1/64 (1.6%).
const (
	subBits    = 6
	subCount   = 1 << subBits
	maxBits    = 40 // values up to 2^40 µs (about 12 days) are kept exactly enough
	numBuckets = (maxBits - subBits + 2) * subCount
)

// hist is an HDR-style log-linear histogram of non-negative values (the
// loadgen records microseconds). Record is safe for concurrent use and does
// not allocate; read it once the recorders have stopped.
type hist struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	k := bits.Len64(uint64(v)) - 1 // v is in [2^k, 2^(k+1))
	if k > maxBits {
		return numBuckets - 1
	}
	shift := k - subBits
	return (k-subBits+1)*subCount + int(uint64(v)>>shift) - subCount
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	k := i/subCount + subBits - 1
	sub := int64(i % subCount)
	shift := k - subBits
	lo = (subCount + sub) << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one value; negative values (clock steps) count as 0.
func (h *hist) Record(v int64) {
	v = max(v, 0)
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Merge adds o's counts into h.
func (h *hist) Merge(o *hist) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// Count returns how many values were recorded.
func (h *hist) Count() uint64 { return h.total.Load() }

// Max returns the largest value recorded (exact).
func (h *hist) Max() int64 { return h.max.Load() }

// Quantile returns the value at quantile q (0 < q <= 1): the upper end of
// the bucket holding the ceil(q*count)-th smallest value, never above Max.
// It returns 0 for an empty histogram.
func (h *hist) Quantile(q float64) int64 {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			if i == numBuckets-1 { // the overflow bucket
				return h.max.Load()
			}
			_, hi := bucketRange(i)
			return min(hi, h.max.Load())
		}
	}
	return h.max.Load()
}
