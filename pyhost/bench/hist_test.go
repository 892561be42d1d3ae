package bench

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestBucketsCoverEveryValueWithinOnePercent(t *testing.T) {
	prevHigh := int64(-1)
	for i := 0; i < len(newHistogram().counts); i++ {
		hi := bucketHigh(i)
		if hi <= prevHigh {
			t.Fatalf("bucket %d ends at %d, not after bucket %d's %d", i, hi, i-1, prevHigh)
		}
		if got := bucketOf(prevHigh + 1); got != i {
			t.Fatalf("value %d falls in bucket %d, want %d", prevHigh+1, got, i)
		}
		if got := bucketOf(hi); got != i {
			t.Fatalf("value %d falls in bucket %d, want %d", hi, got, i)
		}
		lo := prevHigh + 1
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d spans %d..%d: wider than 1/%d", i, lo, hi, subBuckets)
		}
		prevHigh = hi
		if hi > 1<<62 {
			break
		}
	}
}

func TestQuantilesMatchSortedValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := newHistogram()
	var vals []int64
	for i := 0; i < 100000; i++ {
		// log-uniform from 1 µs to 10 s
		v := int64(1000 * math.Pow(10, r.Float64()*7))
		vals = append(vals, v)
		h.record(time.Duration(v))
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(q*float64(len(vals)))-1]
		got := int64(h.quantile(q))
		if got < want || float64(got-want) > float64(want)/subBuckets+1 {
			t.Errorf("p%v = %d, exact %d: not within 1/%d above", q*100, got, want, subBuckets)
		}
	}
	if h.quantile(1) != time.Duration(vals[len(vals)-1]) {
		t.Errorf("max %v, want %v", h.quantile(1), vals[len(vals)-1])
	}
	a, b := newHistogram(), newHistogram()
	a.record(time.Millisecond)
	b.record(3 * time.Millisecond)
	a.merge(b)
	if a.n != 2 || a.mean() != 2*time.Millisecond || a.quantile(1) != 3*time.Millisecond {
		t.Errorf("merged: n=%d mean=%v max=%v", a.n, a.mean(), a.quantile(1))
	}
}
