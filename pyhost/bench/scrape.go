package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one read of a server's /metrics (its --metrics-listen).
type scrape map[string]*dto.MetricFamily

func fetchMetrics(ctx context.Context, addr string) (scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return nil, fmt.Errorf("/metrics: %s %s", resp.Status, strings.TrimSpace(string(b)))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// histSum is a histogram family summed over its series: count, sum and cumulative buckets.
type histSum struct {
	count   float64
	sum     float64
	buckets map[float64]float64 // upper bound -> cumulative count
}

func (s scrape) hist(name string) histSum {
	h := histSum{buckets: map[float64]float64{}}
	mf := s[name]
	if mf == nil {
		return h
	}
	for _, m := range mf.GetMetric() {
		hh := m.GetHistogram()
		h.count += float64(hh.GetSampleCount())
		h.sum += hh.GetSampleSum()
		for _, b := range hh.GetBucket() {
			h.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	return h
}

// gaugeMax is the largest value of a gauge family over its series; ok is false without one.
func (s scrape) gaugeMax(name string) (float64, bool) {
	mf := s[name]
	if mf == nil || len(mf.GetMetric()) == 0 {
		return 0, false
	}
	v := math.Inf(-1)
	for _, m := range mf.GetMetric() {
		v = max(v, m.GetGauge().GetValue())
	}
	return v, true
}

// waitStats is the mean and p99 of what was observed between two scrapes of a histogram
// (p99 interpolated within its bucket, as Prometheus' histogram_quantile does).
func waitStats(before, after histSum) (mean, p99 time.Duration, n float64) {
	n = after.count - before.count
	if n <= 0 {
		return 0, 0, 0
	}
	mean = seconds((after.sum - before.sum) / n)
	var bounds []float64
	for b := range after.buckets {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := 0.99 * n
	prevBound, prevCum := 0.0, 0.0
	for _, b := range bounds {
		cum := after.buckets[b] - before.buckets[b]
		if cum >= rank {
			if math.IsInf(b, 1) {
				return mean, seconds(prevBound), n
			}
			frac := 0.0
			if cum > prevCum {
				frac = (rank - prevCum) / (cum - prevCum)
			}
			return mean, seconds(prevBound + (b-prevBound)*frac), n
		}
		prevBound, prevCum = b, cum
	}
	return mean, seconds(prevBound), n
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
