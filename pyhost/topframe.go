package pyhost

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/pyhost/pyhost/wsgi"
)

// What `pyhost top` shows, computed from two samples: rates and quantiles are over the time
// between them (the last interval), not since the server started.

type topFrame struct {
	at      time.Time
	groups  []topGroup
	workers []topWorker
	longest []topRequest
}

type topGroup struct {
	name       string
	workers    int
	reqPerSec  float64
	p50, p99   float64 // seconds; NaN: no request in the interval
	gilWaitP99 float64
}

type topWorker struct {
	processThreads
	rss       float64 // bytes; NaN: not in the metrics
	reqPerSec float64 // NaN: not in the metrics
}

type topRequest struct {
	pid   int
	group string
	wsgi.RequestThread
}

// Metric names `pyhost top` reads (pyhost/metrics.go writes them).
const (
	metricRequests     = "pyhost_requests_total"
	metricDuration     = "pyhost_request_duration_seconds"
	metricGILWait      = "pyhost_gil_wait_seconds"
	metricRSS          = "process_resident_memory_bytes"
	labelProcessGroup  = "process_group"
	labelWorker        = "worker"
	topLongestRequests = 10
)

func buildTopFrame(prev, cur *topSample) topFrame {
	f := topFrame{at: cur.at}
	dt := cur.at.Sub(prev.at).Seconds()
	groupNames := map[string]bool{}
	for _, p := range cur.threads.Processes {
		groupNames[p.ProcessGroup] = true
		w := topWorker{processThreads: p, rss: math.NaN(), reqPerSec: math.NaN()}
		match := workerMatcher(p)
		if v, ok := sumMetric(cur.families[metricRSS], match); ok {
			w.rss = v
		}
		if dt > 0 { // a worker that has answered nothing yet has no series: 0
			c, _ := sumMetric(cur.families[metricRequests], match)
			before, _ := sumMetric(prev.families[metricRequests], match)
			w.reqPerSec = counterDelta(before, c) / dt
		}
		f.workers = append(f.workers, w)
		for _, rt := range p.Requests {
			f.longest = append(f.longest, topRequest{pid: p.PID, group: p.ProcessGroup, RequestThread: rt})
		}
	}
	// Groups named by the metrics too, in case a group has no live worker now.
	for _, m := range metricsOf(cur.families[metricRequests]) {
		if g := labelValue(m, labelProcessGroup); g != "" {
			groupNames[g] = true
		}
	}
	for name := range groupNames {
		g := topGroup{name: name, reqPerSec: math.NaN(), p50: math.NaN(), p99: math.NaN(),
			gilWaitP99: math.NaN()}
		for _, p := range cur.threads.Processes {
			if p.ProcessGroup == name {
				g.workers++
			}
		}
		match := func(m *dto.Metric) bool {
			v := labelValue(m, labelProcessGroup)
			return v == name || v == "" && len(groupNames) == 1
		}
		if dt > 0 {
			c, _ := sumMetric(cur.families[metricRequests], match)
			before, _ := sumMetric(prev.families[metricRequests], match)
			g.reqPerSec = counterDelta(before, c) / dt
		}
		d := histogramDelta(prev.families[metricDuration], cur.families[metricDuration], match)
		g.p50, g.p99 = d.quantile(0.5), d.quantile(0.99)
		g.gilWaitP99 = histogramDelta(prev.families[metricGILWait], cur.families[metricGILWait], match).quantile(0.99)
		f.groups = append(f.groups, g)
	}
	sort.Slice(f.groups, func(i, j int) bool { return f.groups[i].name < f.groups[j].name })
	sort.SliceStable(f.workers, func(i, j int) bool {
		a, b := f.workers[i], f.workers[j]
		if a.ProcessGroup != b.ProcessGroup {
			return a.ProcessGroup < b.ProcessGroup
		}
		return a.Slot < b.Slot
	})
	sort.SliceStable(f.longest, func(i, j int) bool {
		return f.longest[i].RunningSeconds > f.longest[j].RunningSeconds
	})
	if len(f.longest) > topLongestRequests {
		f.longest = f.longest[:topLongestRequests]
	}
	return f
}

// sortProcesses orders processes by process group, then slot.
func sortProcesses(ps []processThreads) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].ProcessGroup != ps[j].ProcessGroup {
			return ps[i].ProcessGroup < ps[j].ProcessGroup
		}
		return ps[i].Slot < ps[j].Slot
	})
}

// workerMatcher picks a worker's series: those labelled with its group and slot, or, for the
// single-process server (slot -1), the series without a worker label.
func workerMatcher(p processThreads) func(*dto.Metric) bool {
	if p.Slot < 0 {
		return func(m *dto.Metric) bool { return labelValue(m, labelWorker) == "" }
	}
	slot := strconv.Itoa(p.Slot)
	return func(m *dto.Metric) bool {
		return labelValue(m, labelWorker) == slot && labelValue(m, labelProcessGroup) == p.ProcessGroup
	}
}

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

// renderTop draws a frame; ansi adds the clear-screen and emphasis sequences.
func renderTop(w io.Writer, source string, f topFrame, ansi bool) {
	bold, rev, reset := "", "", ""
	if ansi {
		fmt.Fprint(w, ansiHomeClear)
		bold, rev, reset = ansiBold, ansiReverse, ansiReset
	}
	fmt.Fprintf(w, "%spyhost top%s — %s — %s", bold, reset, source, f.at.Format("15:04:05"))
	if ansi {
		fmt.Fprint(w, "   (q quits)")
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintf(w, "%s%-20s %7s %8s %10s %10s %13s%s\n", rev, "PROCESS GROUP", "WORKERS",
		"REQ/S", "P50", "P99", "GIL-WAIT P99", reset)
	for _, g := range f.groups {
		fmt.Fprintf(w, "%-20s %7d %8s %10s %10s %13s\n", clip(g.name, 20), g.workers,
			fmtRate(g.reqPerSec), fmtSeconds(g.p50), fmtSeconds(g.p99), fmtSeconds(g.gilWaitP99))
	}
	fmt.Fprintf(w, "\n%s%-8s %-20s %4s %-9s %9s %8s %7s  %s%s\n", rev, "PID", "PROCESS GROUP",
		"SLOT", "STATE", "RSS", "REQ/S", "BUSY", "LONGEST REQUEST", reset)
	for _, p := range f.workers {
		slot, state := "-", p.State
		if p.Slot >= 0 {
			slot = strconv.Itoa(p.Slot)
		}
		if state == "" {
			state = "serving"
		}
		longest := ""
		if p.Error != "" {
			longest = "no answer: " + p.Error
		} else if len(p.Requests) > 0 {
			r := p.Requests[0]
			longest = fmt.Sprintf("%s %s %s", fmtSeconds(r.RunningSeconds), r.Method, r.Path)
		}
		fmt.Fprintf(w, "%-8d %-20s %4s %-9s %9s %8s %7s  %s\n", p.PID, clip(p.ProcessGroup, 20),
			slot, clip(state, 9), fmtBytes(p.rss), fmtRate(p.reqPerSec),
			fmt.Sprintf("%d/%d", p.Busy, p.Threads), clip(longest, 60))
	}
	fmt.Fprintf(w, "\n%s%-10s %-8s %6s %-20s %-30s %-22s %s%s\n", rev, "RUNNING", "PID", "THREAD",
		"REQUEST ID", "REQUEST", "APPLICATION GROUP", "INTERP", reset)
	if len(f.longest) == 0 {
		fmt.Fprintln(w, "(no request running)")
	}
	for _, r := range f.longest {
		fmt.Fprintf(w, "%-10s %-8d %6d %-20s %-30s %-22s %d\n", fmtSeconds(r.RunningSeconds), r.pid,
			r.Thread, clip(r.RequestID, 20), clip(r.Method+" "+r.Path, 30),
			clip(r.ApplicationGroup, 22), r.Interpreter)
	}
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func fmtRate(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtSeconds shows a duration with three significant digits (µs to hours).
func fmtSeconds(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(s*1e6, 'f', 0, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(s*1e3, 'f', 1, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(s, 'f', 2, 64) + "s"
	default:
		return d.Round(time.Second).String()
	}
}

func fmtBytes(b float64) string {
	if math.IsNaN(b) {
		return "-"
	}
	const mib = 1 << 20
	if b >= 1<<30 {
		return strconv.FormatFloat(b/(1<<30), 'f', 2, 64) + "GiB"
	}
	return strconv.FormatFloat(b/mib, 'f', 1, 64) + "MiB"
}
