package bench

import (
	"math"
	"math/bits"
	"time"
)

// histogram is a log-linear latency histogram in nanoseconds, in the manner of HDR
// histograms: values below 2·subBuckets are counted exactly; above, each power of two is cut
// into subBuckets equal parts, so a value's bucket is within 1/subBuckets (0.8%) of it.
// Recording is a few instructions and no allocation; histograms of several connections merge.
type histogram struct {
	counts []uint64
	n      uint64
	sum    float64 // ns, for the mean
	max    int64
	min    int64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits // 128
	// magnitudes: enough for 2^63 ns.
	magnitudes = 64 - subBits
)

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, (magnitudes+1)*subBuckets), min: math.MaxInt64}
}

// bucketOf is the index of v's bucket.
func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 2*subBuckets {
		return int(u)
	}
	shift := bits.Len64(u) - subBits - 1 // ≥ 1 here
	return (shift+1)*subBuckets + int(u>>uint(shift)) - subBuckets
}

// bucketHigh is the highest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subBuckets {
		return int64(i)
	}
	shift := i/subBuckets - 1
	sub := i%subBuckets + subBuckets
	return int64((uint64(sub)+1)<<uint(shift)) - 1
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
	if v < h.min {
		h.min = v
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
	h.min = min(h.min, o.min)
}

// quantile is the value at or below which a fraction q of the recordings lie (the highest
// value of that bucket, capped at the largest recorded); 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}
