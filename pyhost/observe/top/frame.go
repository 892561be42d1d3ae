package top

import (
	"math"
	"sort"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/wsgi/request"
)

// What `pyhost top` shows, computed from two samples: rates and quantiles are over the time
// between them (the last interval), not since the server started.

type frame struct {
	at      time.Time
	groups  []groupRow
	workers []workerRow
	longest []requestRow
}

type groupRow struct {
	name       string
	workers    int
	reqPerSec  float64
	p50, p99   float64 // seconds; NaN: no request in the interval
	gilWaitP99 float64
	gilOn      []gilOnAgain // --gil free: application groups whose GIL is on again
}

type workerRow struct {
	observe.ProcessThreads
	rss       float64 // bytes; NaN: not in the metrics
	reqPerSec float64 // NaN: not in the metrics
}

type requestRow struct {
	pid   int
	group string
	request.BusyThread
}

// Metric names `pyhost top` reads (the server's metrics write them).
const (
	metricRequests    = "pyhost_requests_total"
	metricDuration    = "pyhost_request_duration_seconds"
	metricGILWait     = "pyhost_gil_wait_seconds"
	metricRSS         = "process_resident_memory_bytes"
	labelProcessGroup = "process_group"
	labelWorker       = "worker"
	longestRequests   = 10
)

// buildFrame computes what to show from two samples, prev the older.
func buildFrame(prev, cur *sample) frame {
	f := frame{at: cur.at}
	dt := cur.at.Sub(prev.at).Seconds()
	for _, p := range cur.threads.Processes {
		f.workers = append(f.workers, buildWorkerRow(prev, cur, p, dt))
		for _, rt := range p.Requests {
			f.longest = append(f.longest, requestRow{pid: p.PID, group: p.ProcessGroup, BusyThread: rt})
		}
	}
	groupNames := processGroupNames(cur)
	for name := range groupNames {
		f.groups = append(f.groups, buildGroupRow(prev, cur, name, len(groupNames) == 1, dt))
	}
	f.sort()
	return f
}

// buildWorkerRow is one worker's line; dt is the seconds between the samples.
func buildWorkerRow(prev, cur *sample, p observe.ProcessThreads, dt float64) workerRow {
	w := workerRow{ProcessThreads: p, rss: math.NaN(), reqPerSec: math.NaN()}
	match := workerMatcher(p)
	if v, ok := sumMetric(cur.families[metricRSS], match); ok {
		w.rss = v
	}
	if dt > 0 { // a worker that has answered nothing yet has no series: 0
		c, _ := sumMetric(cur.families[metricRequests], match)
		before, _ := sumMetric(prev.families[metricRequests], match)
		w.reqPerSec = counterDelta(before, c) / dt
	}
	return w
}

// processGroupNames lists the process groups of the live workers and those the metrics name
// (a group may have no live worker now).
func processGroupNames(cur *sample) map[string]bool {
	names := map[string]bool{}
	for _, p := range cur.threads.Processes {
		names[p.ProcessGroup] = true
	}
	for _, m := range metricsOf(cur.families[metricRequests]) {
		if g := labelValue(m, labelProcessGroup); g != "" {
			names[g] = true
		}
	}
	return names
}

// buildGroupRow is one process group's line; only is true when it is the only group (then
// series without a process_group label are its too).
func buildGroupRow(prev, cur *sample, name string, only bool, dt float64) groupRow {
	g := groupRow{name: name, reqPerSec: math.NaN(), p50: math.NaN(), p99: math.NaN(),
		gilWaitP99: math.NaN()}
	for _, p := range cur.threads.Processes {
		if p.ProcessGroup == name {
			g.workers++
		}
	}
	match := func(m *dto.Metric) bool {
		v := labelValue(m, labelProcessGroup)
		return v == name || v == "" && only
	}
	if dt > 0 {
		c, _ := sumMetric(cur.families[metricRequests], match)
		before, _ := sumMetric(prev.families[metricRequests], match)
		g.reqPerSec = counterDelta(before, c) / dt
	}
	d := histogramDelta(prev.families[metricDuration], cur.families[metricDuration], match)
	g.p50, g.p99 = d.quantile(0.5), d.quantile(0.99)
	g.gilWaitP99 = histogramDelta(prev.families[metricGILWait], cur.families[metricGILWait], match).quantile(0.99)
	g.gilOn = gilOnAgainIn(cur, match)
	return g
}

// sort orders groups by name, workers by group and slot, and keeps the longest-running
// requests, longest first.
func (f *frame) sort() {
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
	if len(f.longest) > longestRequests {
		f.longest = f.longest[:longestRequests]
	}
}

// workerMatcher picks a worker's series: those labelled with its group and slot, or, for the
// single-process server (slot -1), the series without a worker label.
func workerMatcher(p observe.ProcessThreads) func(*dto.Metric) bool {
	if p.Slot < 0 {
		return func(m *dto.Metric) bool { return labelValue(m, labelWorker) == "" }
	}
	slot := strconv.Itoa(p.Slot)
	return func(m *dto.Metric) bool {
		return labelValue(m, labelWorker) == slot && labelValue(m, labelProcessGroup) == p.ProcessGroup
	}
}
