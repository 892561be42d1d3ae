package pyhost_test

// --metrics-listen through the real binary: what one scrape shows equals what the test sent,
// in one process and across worker processes, recycles and process groups; /healthz and
// /readyz; every exposition passes client_golang's linter.

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// send makes n requests and fails the test unless each gets status want.
func send(t *testing.T, c *http.Client, n int, method, url, body string, want int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if resp, _ := request(t, c, nil, method, url, strings.NewReader(body)); resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
		}
	}
}

// One process: every request is counted once under its method and status class, with its
// bytes, its duration, its queue and GIL waits; the capacity gauges say the configuration.
func TestMetricsSingleProcess(t *testing.T) {
	s := startServer(t, "testdata/metrics_app.py", "--metrics-listen", "127.0.0.1:0",
		"--threads", "3")
	base := "http://" + metricsAddr(t, s)
	if code, body := getText(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := getText(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz of a serving server: %d %s", code, body)
	}
	c := freshClient()
	send(t, c, 6, "GET", s.URL+"/", "", 200)
	send(t, c, 3, "POST", s.URL+"/", "hello", 200)
	send(t, c, 2, "GET", s.URL+"/status/503", "", 503)
	send(t, c, 1, "DELETE", s.URL+"/status/404", "", 404)
	send(t, c, 1, "PROPFIND", s.URL+"/", "", 200)

	mfs := waitValue(t, base, s.Log, 13, "pyhost_requests_total")
	for _, w := range []struct {
		want  float64
		name  string
		match []string
	}{
		{6, "pyhost_requests_total", []string{"method", "GET", "status", "2xx"}},
		{3, "pyhost_requests_total", []string{"method", "POST", "status", "2xx"}},
		{2, "pyhost_requests_total", []string{"method", "GET", "status", "5xx"}},
		{1, "pyhost_requests_total", []string{"method", "DELETE", "status", "4xx"}},
		{1, "pyhost_requests_total", []string{"method", "other", "status", "2xx"}},
		{13, "pyhost_requests_total", []string{"process_group", "default", "application_group", "%{GLOBAL}"}},
		{13, "pyhost_request_duration_seconds", nil},
		{13, "pyhost_queue_wait_seconds", nil},
		{13, "pyhost_gil_wait_seconds", []string{"application_group", "%{GLOBAL}", "interpreter", "0"}},
		{15, "pyhost_request_body_bytes_total", nil},
		{13 * 8, "pyhost_response_body_bytes_total", nil},
		{1, "pyhost_interpreters", []string{"application_group", "%{GLOBAL}", "gil_mode", "shared"}},
		{3, "pyhost_request_threads", []string{"process_group", "default"}},
		{0, "pyhost_request_threads_busy", nil},
		{0, "pyhost_requests_queued", nil},
	} {
		if got := value(mfs, w.name, w.match...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.match, got, w.want)
		}
	}
	checkHistograms(t, mfs)
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes",
		"process_cpu_seconds_total"} {
		if mfs[name] == nil {
			t.Errorf("%s missing: the Go and process collectors are not registered", name)
		}
	}
	for _, m := range mfs["pyhost_requests_total"].Metric {
		if hasLabels(m, "worker", "0") {
			t.Errorf("a single process labels its series with a worker slot: %v", m.Label)
		}
	}
	_, body := getText(t, base+"/metrics")
	promtoolCheck(t, body)
}

// checkHistograms checks every histogram's buckets: cumulative, never above the count.
func checkHistograms(t *testing.T, mfs map[string]*dto.MetricFamily) {
	t.Helper()
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			h := m.Histogram
			if h == nil {
				continue
			}
			prev := uint64(0)
			for _, b := range h.Bucket {
				if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > h.GetSampleCount() {
					t.Errorf("%s%v: bucket le=%v holds %d after %d, count %d", name, m.Label,
						b.GetUpperBound(), b.GetCumulativeCount(), prev, h.GetSampleCount())
				}
				prev = b.GetCumulativeCount()
			}
		}
	}
}

// perSlot is the value of a family by worker label.
func perSlot(mfs map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	if mf := mfs[name]; mf != nil {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "worker" {
					out[l.GetValue()] = value(mfs, name, "worker", l.GetValue())
				}
			}
		}
	}
	return out
}

// Two workers recycled every 5 requests: the supervisor's totals equal the requests sent,
// including those of the workers that have exited, and no slot's counters ever go back.
func TestMetricsAcrossRecycles(t *testing.T) {
	s := startServer(t, "testdata/metrics_app.py", "--processes", "2", "--maximum-requests",
		"5", "--metrics-listen", "127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	c := freshClient()
	const rounds, perRound = 8, 5
	prev := map[string]map[string]float64{}
	for round := 0; round < rounds; round++ {
		send(t, c, perRound, "GET", s.URL+"/", "", 200)
		mfs := scrape(t, base)
		for _, name := range []string{"pyhost_requests_total", "pyhost_request_duration_seconds"} {
			now := perSlot(mfs, name)
			for slot, v := range prev[name] {
				if now[slot] < v {
					t.Errorf("round %d: %s of worker %s went back from %v to %v\n%s", round,
						name, slot, v, now[slot], s.Log)
				}
			}
			prev[name] = now
		}
	}
	sent := float64(rounds * perRound)
	// Once every recycled worker has exited, the totals hold only through their final values.
	pids, _ := recycled(s.Log.String())
	waitValue(t, base, s.Log, float64(len(pids)), "pyhost_worker_exits_total", "reason", "stopped")
	mfs := waitValue(t, base, s.Log, sent, "pyhost_requests_total", "status", "2xx")
	if got := value(mfs, "pyhost_request_duration_seconds"); got != sent {
		t.Errorf("duration histogram count %v, want %v", got, sent)
	}
	if got := value(mfs, "pyhost_gil_wait_seconds"); got != sent {
		t.Errorf("GIL wait histogram count %v, want %v", got, sent)
	}
	checkHistograms(t, mfs)
	_, reasons := recycled(s.Log.String())
	if len(reasons) == 0 {
		t.Fatalf("no worker was recycled after %v requests with --maximum-requests 5\n%s", sent, s.Log)
	}
	// Every recycle the supervisor logs is counted, with its reason.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mfs = scrape(t, base)
		pids, _ := recycled(s.Log.String())
		got := value(mfs, "pyhost_worker_recycles_total", "reason", "maximum-requests")
		if got == float64(len(pids)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pyhost_worker_recycles_total = %v, the log has %d recycles\n%s", got,
				len(pids), s.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// ... and every recycled worker, drained, exits as "stopped".
	pids, _ = recycled(s.Log.String())
	mfs = waitValue(t, base, s.Log, float64(len(pids)), "pyhost_worker_exits_total", "reason", "stopped")
	if starts := value(mfs, "pyhost_worker_starts_total"); starts < 2+1 {
		t.Errorf("pyhost_worker_starts_total = %v after recycles, want more than 2", starts)
	}
	for _, slot := range []string{"0", "1"} {
		if value(mfs, "pyhost_worker_starts_total", "process_group", "default", "worker", slot) < 1 {
			t.Errorf("no start counted for worker %s", slot)
		}
	}
}

// /readyz answers 503 while the apps load (naming the group without a worker) and 200 once
// they serve; /healthz answers 200 throughout. In one process and under a supervisor.
func TestMetricsReadyz(t *testing.T) {
	for _, mode := range []struct {
		name string
		args []string
		why  string
	}{
		{"single", nil, "starting"},
		{"processes", []string{"--processes", "2"}, `process group "default" has no worker accepting`},
	} {
		t.Run(mode.name, func(t *testing.T) {
			gate := filepath.Join(t.TempDir(), "open")
			t.Setenv("PYHOST_TEST_GATE", gate)
			args := append([]string{"testdata/gated_import.py", "--listen", "127.0.0.1:0",
				"--metrics-listen", "127.0.0.1:0"}, mode.args...)
			p := startProcess(t, args...)
			defer func() {
				if err := p.stop(); err != nil {
					t.Errorf("exit: %v\n%s", err, p.Log)
				}
			}()
			base := "http://" + metricsAddr(t, p)
			if code, body := getText(t, base+"/healthz"); code != 200 {
				t.Errorf("/healthz while loading: %d %s", code, body)
			}
			code, body := getText(t, base+"/readyz")
			if code != http.StatusServiceUnavailable || !strings.Contains(body, mode.why) {
				t.Errorf("/readyz while loading: %d %q, want 503 saying %q", code, body, mode.why)
			}
			writeFile(t, gate, "")
			waitReady(t, base, p)
		})
	}
}

// Two process groups behind the router: one scrape of the supervisor shows each group's
// requests under its own process_group label, and each slot's starts; /readyz needs both.
func TestMetricsProcessGroups(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, metricsListen+twoGroups()))
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	if code, body := getText(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz with both groups serving: %d %s", code, body)
	}
	c := freshClient()
	send(t, c, 3, "GET", s.URL+"/a/x", "", 200)
	send(t, c, 2, "GET", s.URL+"/b/y", "", 200)
	waitValue(t, base, s.Log, 3, "pyhost_requests_total", "process_group", "a")
	mfs := waitValue(t, base, s.Log, 2, "pyhost_requests_total", "process_group", "b",
		"application_group", "shop")
	if got := value(mfs, "pyhost_requests_total"); got != 5 {
		t.Errorf("pyhost_requests_total = %v, want 5", got)
	}
	for _, w := range []struct {
		group, slot string
	}{{"a", "0"}, {"a", "1"}, {"b", "0"}} {
		if got := value(mfs, "pyhost_worker_starts_total", "process_group", w.group, "worker", w.slot); got != 1 {
			t.Errorf("starts of group %s worker %s = %v, want 1", w.group, w.slot, got)
		}
		if got := value(mfs, "pyhost_request_threads", "process_group", w.group, "worker", w.slot); got == 0 {
			t.Errorf("group %s worker %s: no pyhost_request_threads (not gathered)", w.group, w.slot)
		}
	}
	if got := value(mfs, "pyhost_request_threads", "process_group", "b"); got != 4 {
		t.Errorf("group b's request threads = %v, want 4 (threads = 4)", got)
	}
}

// check-config takes metrics-listen at the top of the file and refuses it in a group.
func TestMetricsListenConfigKey(t *testing.T) {
	r := runPyhost(t, apart, "check-config", groupsConfig(t, metricsListen+twoGroups()))
	if r.Code != 0 || !strings.Contains(r.Stdout, "metrics: http://127.0.0.1:0/metrics") {
		t.Errorf("check-config: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = runPyhost(t, apart, "check-config", groupsConfig(t, twoGroups(`metrics-listen = "127.0.0.1:9"`)))
	if r.Code != 2 || !strings.Contains(r.Stderr, "group.b.metrics-listen: not a group option") {
		t.Errorf("metrics-listen in a group: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	r = runPyhost(t, apart, "check-config", groupsConfig(t, "metrics-listen = \"nowhere\"\n"+twoGroups()))
	if r.Code != 2 || !strings.Contains(r.Stderr, fmt.Sprintf("metrics-listen: %q: want HOST:PORT", "nowhere")) {
		t.Errorf("a bad metrics-listen: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
}

// With two process groups, /readyz names the one whose workers are still loading, and
// answers 200 once both serve.
func TestMetricsReadyzNamesGroup(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "open")
	t.Setenv("PYHOST_TEST_GATE", gate)
	config := groupsConfig(t, metricsListen+groupTable("a")+groupTable("b")+
		mountTable("/a", "app.py", "a")+mountTable("/b", repoPath("testdata", "gated_import.py"), "b"))
	p := startProcess(t, "--config", config, "--listen", "127.0.0.1:0")
	defer func() {
		if err := p.stop(); err != nil {
			t.Errorf("exit: %v\n%s", err, p.Log)
		}
	}()
	base := "http://" + metricsAddr(t, p)
	want := `process group "b" has no worker accepting`
	var code int
	var body string
	if !eventually(30*time.Second, func() bool {
		code, body = getText(t, base+"/readyz")
		if code == 200 {
			t.Fatalf("/readyz 200 while group b's app is still loading\n%s", p.Log)
		}
		return strings.Contains(body, want)
	}) {
		t.Fatalf("/readyz: %d %q, want 503 saying %q\n%s", code, body, want, p.Log)
	}
	writeFile(t, gate, "")
	waitReady(t, base, p)
}

// Free-threaded build, --gil free: pyhost_gil_reenabled of an application group agrees with
// what `pyhost check` finds for its app (whether importing it switched the GIL back on:
// _testsinglephase does on builds where it does not declare free-threading support), and is
// 0 for hello.py's group.
func TestMetricsGILReenabled(t *testing.T) {
	if !linked.FreeThreaded {
		t.Skipf("needs a free-threaded build (3.13t); this run embeds Python %s with the GIL "+
			"(covered by the 3.13t run of make test)", linked.Version)
	}
	r := runPyhost(t, together, "check", "testdata/singlephase.py", "--gil", "free")
	m := regexp.MustCompile(`GIL enabled after import: (true|false)`).FindStringSubmatch(r.Out)
	if r.Code != 0 || m == nil {
		t.Fatalf("check singlephase.py --gil free: exit %d\n%s", r.Code, r.Out)
	}
	wantGlobal := 0.0
	if m[1] == "true" {
		wantGlobal = 1
	}
	s := startServer(t, "testdata/singlephase.py", "--gil", "free", "--preload",
		"--mount", "/h=testdata/hello.py,group=H", "--metrics-listen", "127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	mfs := scrape(t, base)
	for _, g := range []struct {
		group string
		want  float64
	}{{"%{GLOBAL}", wantGlobal}, {"H", 0}} {
		mf := mfs["pyhost_gil_reenabled"]
		if mf == nil || !hasAnySeries(mf, "application_group", g.group) {
			t.Fatalf("no pyhost_gil_reenabled series for group %s\n%s", g.group, s.Log)
		}
		if got := value(mfs, "pyhost_gil_reenabled", "application_group", g.group); got != g.want {
			t.Errorf("pyhost_gil_reenabled of %s = %v, want %v (check says GIL enabled: %s)",
				g.group, got, g.want, m[1])
		}
	}
	if got := value(mfs, "pyhost_interpreters", "gil_mode", "free"); got != 2 {
		t.Errorf("pyhost_interpreters{gil_mode=free} = %v, want 2 (one per group)", got)
	}
}

// A pool of 2 interpreters (--gil own, or free on a free-threaded build): while one request
// sleeps in interpreter 0, the next goes to the least busy, interpreter 1, and the GIL-wait
// histogram counts one request under each interpreter index; the group's interpreters gauge
// says 2 under the mode's gil_mode.
func TestMetricsGILWaitPerInterpreter(t *testing.T) {
	mode := ownOrFree(t, "a pool of interpreters")
	s := startServer(t, "testdata/slow.py", "--gil", mode, "--interpreters", "2",
		"--application-group", "pool", "--metrics-listen", "127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	c := freshClient()
	slow := make(chan error, 1)
	go func() {
		resp, err := c.Get(s.URL + "/?id=first&ms=2000")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	waitForLog(t, s, "slow.py: started id=first")
	send(t, c, 1, "GET", s.URL+"/?ms=1", "", 200)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	mfs := waitValue(t, base, s.Log, 2, "pyhost_gil_wait_seconds", "application_group", "pool")
	for _, in := range []string{"0", "1"} {
		if got := value(mfs, "pyhost_gil_wait_seconds", "application_group", "pool", "interpreter", in); got != 1 {
			t.Errorf("GIL waits counted for interpreter %s: %v, want 1", in, got)
		}
	}
	if got := value(mfs, "pyhost_interpreters", "application_group", "pool", "gil_mode", mode); got != 2 {
		t.Errorf("pyhost_interpreters{pool, %s} = %v, want 2", mode, got)
	}
}

// A config file's one group under --processes: every series of its worker, the Go and process
// collectors' included, carries the group's name, as the worker's own series do.
func TestMetricsOneGroupLabels(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, metricsListen+groupTable("site", "processes = 1")+
		mountTable("/", "app.py", "")))
	base := "http://" + metricsAddr(t, s)
	send(t, freshClient(), 2, "GET", s.URL+"/x", "", 200)
	mfs := waitValue(t, base, s.Log, 2, "pyhost_requests_total", "process_group", "site",
		"worker", "0")
	seen := 0
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			if hasLabels(m, "worker", "0") {
				seen++
				if !hasLabels(m, "process_group", "site") {
					t.Errorf("%s%v: want process_group=site", name, m.Label)
				}
			}
		}
	}
	if mfs["go_goroutines"] == nil || !hasAnySeries(mfs["go_goroutines"], "worker", "0") || seen == 0 {
		t.Errorf("the worker's Go collector was not gathered (%d worker series)", seen)
	}
}

// A worker that dies while serving (os._exit) is counted as a crash exit and a crash
// recycle, and its slot keeps the requests the last scrape saw of it: the totals go on from
// there when its replacement serves.
func TestMetricsWorkerCrash(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "1", "--metrics-listen",
		"127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	c := freshClient()
	send(t, c, 3, "GET", s.URL+"/", "", 200)
	waitValue(t, base, s.Log, 3, "pyhost_requests_total")
	if resp, err := c.Get(s.URL + "/exit"); err == nil {
		resp.Body.Close()
		t.Fatalf("/exit answered %d; the worker should have died", resp.StatusCode)
	}
	waitValue(t, base, s.Log, 1, "pyhost_worker_exits_total", "reason", "crash", "worker", "0")
	waitValue(t, base, s.Log, 1, "pyhost_worker_recycles_total", "reason", "crash")
	waitForLines(t, s, `msg="worker ready"`, 2)
	mfs := scrape(t, base)
	if got := value(mfs, "pyhost_requests_total"); got != 3 {
		t.Errorf("after the crash pyhost_requests_total = %v, want the 3 seen before it", got)
	}
	send(t, c, 2, "GET", s.URL+"/", "", 200)
	mfs = waitValue(t, base, s.Log, 5, "pyhost_requests_total", "worker", "0")
	if got := value(mfs, "pyhost_worker_starts_total", "worker", "0"); got != 2 {
		t.Errorf("pyhost_worker_starts_total = %v, want 2", got)
	}
}

// Under load from 8 clients over 2 workers recycled every 50 requests, with scrapes running
// throughout: no scrape sees a slot's request count go back, and at the end the totals
// equal the requests answered.
func TestMetricsUnderLoad(t *testing.T) {
	s := startServer(t, "testdata/processes.py", "--processes", "2", "--maximum-requests",
		"50", "--metrics-listen", "127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	stop := make(chan struct{})
	scraped := make(chan []string, 1)
	go func() {
		var problems []string
		prev := map[string]float64{}
		for {
			select {
			case <-stop:
				scraped <- problems
				return
			default:
			}
			resp, err := client.Get(base + "/metrics")
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			mfs, err := parseMetrics(resp.Body)
			resp.Body.Close()
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			now := perSlot(mfs, "pyhost_requests_total")
			for slot, v := range prev {
				if now[slot] < v {
					problems = append(problems, fmt.Sprintf("worker %s: %v after %v", slot, now[slot], v))
				}
			}
			prev = now
			time.Sleep(20 * time.Millisecond)
		}
	}()
	results := load(s.URL+"/", 8, 400, time.Minute, nil)
	close(stop)
	for _, p := range <-scraped {
		t.Errorf("scrape during the load: %s", p)
	}
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("a request failed under load: %v\n%s", r.err, s.Log)
		}
	}
	pids, _ := recycled(s.Log.String())
	if len(pids) == 0 {
		t.Fatalf("no worker was recycled during %d requests with --maximum-requests 50", len(results))
	}
	// Once every recycled worker has exited, the totals hold only through their final values.
	waitValue(t, base, s.Log, float64(len(pids)), "pyhost_worker_exits_total", "reason", "stopped")
	mfs := waitValue(t, base, s.Log, float64(len(results)), "pyhost_requests_total", "status", "2xx")
	if got := value(mfs, "pyhost_request_duration_seconds"); got != float64(len(results)) {
		t.Errorf("duration histogram count %v, want %d", got, len(results))
	}
	// The supervisor's exposition, every worker's series and its own, passes promtool.
	_, body := getText(t, base+"/metrics")
	promtoolCheck(t, body)
}

// A recycled worker's requests that no scrape saw are counted all the same: it sends its
// final values to the supervisor once it has drained. (Nothing scrapes here until it has
// exited, so only those final values can hold its 3 requests.)
func TestMetricsFinalValues(t *testing.T) {
	s := startServer(t, "testdata/metrics_app.py", "--processes", "1", "--maximum-requests",
		"3", "--metrics-listen", "127.0.0.1:0")
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	send(t, freshClient(), 3, "POST", s.URL+"/", "abcd", 200)
	waitForLines(t, s, `msg="worker stopped"`, 1)
	mfs := waitValue(t, base, s.Log, 3, "pyhost_requests_total", "method", "POST", "worker", "0")
	if got := value(mfs, "pyhost_request_body_bytes_total"); got != 12 {
		t.Errorf("pyhost_request_body_bytes_total = %v, want 12", got)
	}
	if got := value(mfs, "pyhost_gil_wait_seconds"); got != 3 {
		t.Errorf("GIL wait histogram count %v, want 3", got)
	}
}
