package top

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/wsgi/request"
)

// metrics parses a Prometheus text exposition.
func metrics(t *testing.T, text string) *sample {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return &sample{families: families}
}

const before = `# TYPE pyhost_requests_total counter
pyhost_requests_total{process_group="web",worker="0"} 10
pyhost_requests_total{process_group="web",worker="1"} 5
# TYPE pyhost_request_duration_seconds histogram
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="0.1"} 10
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="1"} 10
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="+Inf"} 10
pyhost_request_duration_seconds_sum{process_group="web",worker="0"} 0.5
pyhost_request_duration_seconds_count{process_group="web",worker="0"} 10
`

const after = `# TYPE pyhost_requests_total counter
pyhost_requests_total{process_group="web",worker="0"} 30
pyhost_requests_total{process_group="web",worker="1"} 5
pyhost_requests_total{process_group="api",worker="0"} 1
# TYPE pyhost_request_duration_seconds histogram
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="0.1"} 20
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="1"} 30
pyhost_request_duration_seconds_bucket{process_group="web",worker="0",le="+Inf"} 30
pyhost_request_duration_seconds_sum{process_group="web",worker="0"} 6
pyhost_request_duration_seconds_count{process_group="web",worker="0"} 30
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes{process_group="web",worker="1"} 1048576
`

func TestBuildFrame(t *testing.T) {
	prev, cur := metrics(t, before), metrics(t, after)
	cur.at = prev.at.Add(2 * time.Second)
	cur.threads.Processes = []observe.ProcessThreads{
		{PID: 2, ProcessGroup: "web", Slot: 1, Requests: []request.BusyThread{{Method: "GET", Path: "/a", RunningSeconds: 1}}},
		{PID: 1, ProcessGroup: "web", Slot: 0, Requests: []request.BusyThread{{Path: "/b", RunningSeconds: 3}}},
	}
	f := buildFrame(prev, cur)

	if len(f.groups) != 2 || f.groups[0].name != "api" || f.groups[1].name != "web" {
		t.Fatalf("groups %+v, want api (named by the metrics alone) and web", f.groups)
	}
	web := f.groups[1]
	if web.workers != 2 || web.reqPerSec != 10 {
		t.Errorf("web: %d workers, %v req/s; want 2 and 10", web.workers, web.reqPerSec)
	}
	// 20 new observations: 10 at most 0.1s, 10 in (0.1, 1]: the median is 0.1, p99 0.982.
	if math.Abs(web.p50-0.1) > 1e-9 || math.Abs(web.p99-0.982) > 1e-9 {
		t.Errorf("web: p50 %v, p99 %v; want 0.1 and 0.982", web.p50, web.p99)
	}
	if !math.IsNaN(web.gilWaitP99) {
		t.Errorf("web: GIL wait p99 %v without the metric, want NaN", web.gilWaitP99)
	}

	if len(f.workers) != 2 || f.workers[0].Slot != 0 || f.workers[1].Slot != 1 {
		t.Fatalf("workers %+v, want slots 0 then 1", f.workers)
	}
	if f.workers[0].reqPerSec != 10 || f.workers[1].reqPerSec != 0 {
		t.Errorf("req/s %v and %v, want 10 and 0", f.workers[0].reqPerSec, f.workers[1].reqPerSec)
	}
	if !math.IsNaN(f.workers[0].rss) || f.workers[1].rss != 1<<20 {
		t.Errorf("RSS %v and %v, want NaN and 1 MiB", f.workers[0].rss, f.workers[1].rss)
	}
	if len(f.longest) != 2 || f.longest[0].Path != "/b" || f.longest[0].pid != 1 {
		t.Errorf("longest %+v, want /b (pid 1) first", f.longest)
	}

	var out strings.Builder
	render(&out, "http://127.0.0.1:9100", f, false)
	for _, want := range []string{
		"\nweb                        2     10.0    100.0ms    982.0ms             -\n",
		"\n2        web                       1 serving      1.0MiB      0.0     0/0  1.00s GET /a\n",
		"\n1.00s      2             0                      GET /a ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("frame lacks %q:\n%s", want, out.String())
		}
	}
}

func TestQuantileAfterRestart(t *testing.T) {
	// A counter that went back: the process restarted, the new counts are the interval's.
	b := buckets{bounds: []float64{1, math.Inf(1)}, counts: []float64{4, 4}}
	if q := b.quantile(0.5); q != 0.5 {
		t.Errorf("quantile(0.5) = %v, want 0.5", q)
	}
	if counterDelta(10, 3) != 3 || counterDelta(3, 10) != 7 {
		t.Error("counterDelta")
	}
	if q := (buckets{}).quantile(0.5); !math.IsNaN(q) {
		t.Errorf("no data: %v, want NaN", q)
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtSeconds(0.000250), "250µs"}, {fmtSeconds(0.0125), "12.5ms"}, {fmtSeconds(2.5), "2.50s"},
		{fmtSeconds(125), "2m5s"}, {fmtSeconds(math.NaN()), "-"}, {fmtBytes(3 << 29), "1.50GiB"},
		{fmtRate(2.25), "2.2"}, {clip("abcdef", 4), "abc…"}, {clip("abc", 4), "abc"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
