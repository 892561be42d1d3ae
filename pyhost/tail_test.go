package pyhost_test

// Issue 19's instruments, end to end: the Go runtime's scheduler-latency and GC-pause
// histograms in /metrics, the Go processors of a process whose Python runs in parallel, and
// `pyhost bench --load` driving a running server. Nothing here asserts a speed.

import (
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// The runtime's histograms are in /metrics, as histograms with samples, for a single process
// and for every worker of a supervisor.
func TestMetricsGoRuntimeHistograms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		series [][]string // label pairs of each process that must have them
	}{
		{"single", nil, [][]string{nil}},
		{"processes", []string{"--processes", "2"}, [][]string{{"worker", "0"}, {"worker", "1"}, {"worker", "supervisor"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/metrics_app.py", "--metrics-listen", "127.0.0.1:0"}, tc.args...)...)
			base := "http://" + metricsAddr(t, s)
			if len(tc.args) > 0 {
				waitForLines(t, s, `msg="all workers ready"`, 1)
			}
			send(t, freshClient(), 50, "GET", s.URL+"/", "", 200)
			mfs := waitValue(t, base, s.Log, 50, "pyhost_requests_total")
			for _, name := range []string{"go_sched_latencies_seconds", "go_sched_pauses_total_gc_seconds"} {
				mf := mfs[name]
				if mf == nil {
					t.Fatalf("%s missing from /metrics", name)
				}
				if mf.GetType() != dto.MetricType_HISTOGRAM {
					t.Errorf("%s is a %v, not a histogram", name, mf.GetType())
				}
				for _, match := range tc.series {
					if !hasAnySeries(mf, match...) {
						t.Errorf("%s has no series %v", name, match)
					}
				}
			}
			// Every process has scheduled goroutines by now; its GC may not have run yet.
			for _, match := range tc.series {
				if value(mfs, "go_sched_latencies_seconds", match...) == 0 {
					t.Errorf("go_sched_latencies_seconds%v holds no sample", match)
				}
			}
			if mfs["go_cpu_classes_gc_total_cpu_seconds_total"] == nil {
				t.Errorf("go_cpu_classes_gc_total_cpu_seconds_total missing")
			}
			checkHistograms(t, mfs)
			_, body := getText(t, base+"/metrics")
			promtoolCheck(t, body)
		})
	}
}

// gomaxprocs is the Go processors /metrics reports for a server started with args.
func gomaxprocs(t *testing.T, args ...string) float64 {
	t.Helper()
	s := startServer(t, append([]string{"testdata/hello.py", "--metrics-listen", "127.0.0.1:0"}, args...)...)
	base := "http://" + metricsAddr(t, s)
	mfs := scrape(t, base)
	if mfs["go_sched_gomaxprocs_threads"] == nil {
		t.Fatalf("go_sched_gomaxprocs_threads missing from /metrics")
	}
	return value(mfs, "go_sched_gomaxprocs_threads")
}

// A process whose request threads run Python in parallel (own-GIL interpreters, free-threaded)
// gets a Go processor per core plus one per request thread; one GIL keeps Go's own choice, and
// so does a GOMAXPROCS the user set.
func TestParallelPythonGoProcs(t *testing.T) {
	mode := ownOrFree(t, "Python running in parallel")
	cores := float64(runtime.NumCPU())
	parallel := []string{"--gil", mode, "--threads", "3"}
	if mode == "own" {
		parallel = append(parallel, "--interpreters", "3", "--application-group", "parallel")
	}
	if got := gomaxprocs(t, parallel...); got != cores+3 {
		t.Errorf("--gil %s --threads 3: GOMAXPROCS %v, want %v (cores + threads)", mode, got, cores+3)
	}
	if got := gomaxprocs(t, "--threads", "3"); got != cores {
		t.Errorf("--gil shared --threads 3: GOMAXPROCS %v, want %v (cores)", got, cores)
	}
	t.Run("user's GOMAXPROCS", func(t *testing.T) {
		t.Setenv("GOMAXPROCS", "1")
		if got := gomaxprocs(t, parallel...); got != 1 {
			t.Errorf("GOMAXPROCS=1 --gil %s --threads 3: GOMAXPROCS %v, want 1", mode, got)
		}
	})
}

type loadReport struct {
	Requests   uint64            `json:"requests"`
	OK         uint64            `json:"ok"`
	Errors     map[string]uint64 `json:"errors"`
	TargetRate float64           `json:"target_rate"`
	Unsent     uint64            `json:"unsent"`
	Latency    struct {
		P50, P90, P99 float64
		P999          float64 `json:"p99_9"`
		Max           float64
	} `json:"latency_ms"`
	ServerCPU float64 `json:"server_cpu_per_request_us"`
}

// pyhost bench --load drives a server it did not start: an open loop sends what the rate
// asks for (every due request is answered or counted unsent), with ordered percentiles and
// the server's CPU; a closed loop against nothing fails with the connect errors named.
func TestBenchLoadExternalServer(t *testing.T) {
	s := startServer(t, "testdata/hello.py", "--threads", "2")
	pid := strconv.Itoa(s.cmd.Process.Pid)
	r := runPyhost(t, apart, "bench", "--load", s.Addr, "--rate", "400", "--duration", "1s",
		"--warmup", "0s", "--concurrency", "4", "--pid", pid)
	if r.Code != 0 {
		t.Fatalf("bench --load exited %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("bench --load's stdout is not one JSON object: %v\n%s", err, r.Stdout)
	}
	if rep.TargetRate != 400 {
		t.Errorf("target_rate %v, want 400", rep.TargetRate)
	}
	// 400 req/s for 1 s: 400 requests were due; each is answered or reported unsent.
	if due := rep.Requests + rep.Unsent; due < 390 || due > 410 {
		t.Errorf("answered %d + unsent %d = %d, want the 400 due in 1 s at 400 req/s", rep.Requests, rep.Unsent, due)
	}
	if rep.OK != rep.Requests || len(rep.Errors) > 0 {
		t.Errorf("ok %d of %d, errors %v", rep.OK, rep.Requests, rep.Errors)
	}
	l := rep.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("percentiles out of order: %+v", l)
	}
	if rep.ServerCPU <= 0 {
		t.Errorf("server CPU per request %v with --pid %s", rep.ServerCPU, pid)
	}
	if !strings.Contains(r.Stderr, "req/s") {
		t.Errorf("no summary line on stderr: %q", r.Stderr)
	}

	dead := runPyhost(t, apart, "bench", "--load", "127.0.0.1:1", "--duration", "300ms", "--warmup", "0s")
	if dead.Code != 1 || !strings.Contains(dead.Stderr, "no request succeeded") || !strings.Contains(dead.Stderr, "connect") {
		t.Errorf("bench --load against a closed port: exit %d, want 1 naming the connect errors\n%s", dead.Code, dead.Stderr)
	}
	for _, bad := range [][]string{{"bench", "--load"}, {"bench", "--load", s.Addr, "--rate", "-1"}, {"bench", "--load", s.Addr, "extra"}} {
		if r := runPyhost(t, apart, bad...); r.Code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", bad, r.Code, r.Stderr)
		}
	}
}
