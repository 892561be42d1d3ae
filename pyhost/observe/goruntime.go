package observe

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// GoRuntimeCollector is the Go runtime's part of /metrics: client_golang's default Go
// metrics (goroutines, heap, GC summary) plus the runtime's own histograms that explain a
// latency tail (issue 19, README "Tuning"):
//
//   - go_sched_latencies_seconds: how long goroutines sat runnable before they ran. A request
//     whose connection became readable waits this long before pyhost even reads it; a p99 of
//     milliseconds here means the process's threads did not get a core (other work on the
//     machine, too many Ps for the cores) rather than slow Python.
//   - go_sched_pauses_total_gc_seconds: the garbage collector's stop-the-world pauses; every
//     request in flight stops for them (GOGC, GOMEMLIMIT).
//   - go_cpu_classes_gc_total_cpu_seconds_total: CPU the collector took, including the
//     assists charged to goroutines that allocate while it runs (on request paths).
func GoRuntimeCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(
			`^/sched/latencies:seconds$|^/sched/pauses/total/gc:seconds$|^/cpu/classes/gc/total:cpu-seconds$`)}))
}
