package top

import (
	"math"
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// Reading the server's Prometheus metrics: picking series by label, adding counters up, and
// the difference between two samples of a histogram with its quantiles.

func metricsOf(mf *dto.MetricFamily) []*dto.Metric {
	if mf == nil {
		return nil
	}
	return mf.GetMetric()
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sumMetric adds up the counter, gauge or untyped values of mf's series that match.
func sumMetric(mf *dto.MetricFamily, match func(*dto.Metric) bool) (float64, bool) {
	sum, found := 0.0, false
	for _, m := range metricsOf(mf) {
		if !match(m) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		default:
			continue
		}
		found = true
	}
	return sum, found
}

// counterDelta is how much a counter grew; a counter that went back (a process restarted)
// counts from zero.
func counterDelta(before, now float64) float64 {
	if now < before {
		return now
	}
	return now - before
}

// buckets is a cumulative histogram: counts[i] observations ≤ bounds[i] (ascending, the last
// +Inf).
type buckets struct {
	bounds []float64
	counts []float64
}

// histogramOf adds up the matching series of a histogram family by bucket bound.
func histogramOf(mf *dto.MetricFamily, match func(*dto.Metric) bool) map[float64]float64 {
	out := map[float64]float64{}
	for _, m := range metricsOf(mf) {
		h := m.GetHistogram()
		if h == nil || !match(m) {
			continue
		}
		for _, b := range h.GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) {
				out[b.GetUpperBound()] += float64(b.GetCumulativeCount())
			}
		}
		out[math.Inf(1)] += float64(h.GetSampleCount())
	}
	return out
}

// histogramDelta is the histogram of the observations made between two samples.
func histogramDelta(prev, cur *dto.MetricFamily, match func(*dto.Metric) bool) buckets {
	before, now := histogramOf(prev, match), histogramOf(cur, match)
	var b buckets
	for bound := range now {
		b.bounds = append(b.bounds, bound)
	}
	sort.Float64s(b.bounds)
	reset := now[math.Inf(1)] < before[math.Inf(1)]
	for _, bound := range b.bounds {
		c := now[bound]
		if !reset {
			c -= before[bound]
		}
		b.counts = append(b.counts, max(c, 0))
	}
	return b
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile does: linearly within
// the bucket it falls in; the highest finite bound when it falls in +Inf. NaN without data.
func (b buckets) quantile(q float64) float64 {
	n := len(b.counts)
	if n == 0 || b.counts[n-1] == 0 {
		return math.NaN()
	}
	rank := q * b.counts[n-1]
	for i, c := range b.counts {
		if c < rank {
			continue
		}
		if math.IsInf(b.bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return b.bounds[i-1]
		}
		lower, below := 0.0, 0.0
		if i > 0 {
			lower, below = b.bounds[i-1], b.counts[i-1]
		}
		if c == below {
			return b.bounds[i]
		}
		return lower + (b.bounds[i]-lower)*(rank-below)/(c-below)
	}
	return b.bounds[n-1]
}
