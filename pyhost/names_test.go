package pyhost_test

// One name for one thing: a process group and a worker go by the same names and numbers in
// the pyhost module, environ, /metrics, the access log, /debug/threads and the logs of the
// supervisor and the workers; and the router's own answers (several process groups) are
// counted and logged, under process_group "router", once.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
)

// namesFacts checks what an app of groups_app.py says of its process group against want.
func namesFacts(t *testing.T, f groupFacts, want string) {
	t.Helper()
	if f.ProcessGroup != want || f.Module.ProcessGroup != want {
		t.Errorf("environ['pyhost.process_group'] = %q, pyhost.process_group = %q; want %q "+
			"(the metrics' process_group label)", f.ProcessGroup, f.Module.ProcessGroup, want)
	}
}

// namesWorker finds the supervisor's "started worker" record of pid and the worker's own
// records, and returns the worker number both give, failing unless they agree.
func namesWorker(t *testing.T, log string, pid int, group string) string {
	t.Helper()
	started := regexp.MustCompile(fmt.Sprintf(`msg="started worker" .*\bworker=(\d+) process_group=%s pid=%d\b`,
		regexp.QuoteMeta(group), pid))
	m := started.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no supervisor record `started worker ... worker=N process_group=%s pid=%d`:\n%s",
			group, pid, log)
	}
	own := fmt.Sprintf(`msg=serving worker=%s pid=%d process_group=%s `, m[1], pid, group)
	if countLines(log, own) == 0 {
		t.Errorf("the worker's own records do not say %q:\n%s", own, log)
	}
	return m[1]
}

// serve APP: the implicit process group is "default" in the module, environ, the metrics, the
// access log, /debug/threads and the logs.
func TestNamesImplicitProcessGroup(t *testing.T) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/groups_app.py", "--processes", "1",
		"--metrics-listen", "127.0.0.1:0", "--access-log", accessLog)
	base := "http://" + metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	f := getFacts(t, freshClient(), s.URL+"/")
	namesFacts(t, f, "default")
	mfs := waitValue(t, base, s.Log, 1, "pyhost_requests_total", "process_group", "default",
		"worker", "0")
	worker := namesWorker(t, s.Log.String(), f.PID, "default")
	if worker != "0" || value(mfs, "pyhost_worker_starts_total", "process_group", "default", "worker", worker) != 1 {
		t.Errorf("the log says worker=%s; want it 0 and pyhost_worker_starts_total{worker=%q} 1", worker, worker)
	}
	if e := readAccessLog(t, accessLog, 1, false)[0]; e.ProcessGroup != "default" {
		t.Errorf("access log process_group = %q, want default", e.ProcessGroup)
	}
	v, body := getThreads(t, metricsAddr(t, s), "")
	if len(v.Processes) != 1 || v.Processes[0].ProcessGroup != "default" || v.Processes[0].Slot != 0 {
		t.Errorf("/debug/threads: want process group default, worker 0:\n%s", body)
	}
}

// Two process groups behind the router: group b's one worker is worker 0 of b in its own log,
// the supervisor's, /metrics and /debug/threads (not the supervisor's third slot); a static
// file and an unmounted path are in /metrics and the access log under process_group
// "router", and the forwarded requests are counted and logged once, by their workers.
func TestNamesProcessGroupsAndRouter(t *testing.T) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "--config", groupsConfig(t, metricsListen+twoGroups()),
		"--access-log", accessLog, "--access-log-format", "json")
	addr := metricsAddr(t, s)
	base := "http://" + addr
	waitForLines(t, s, `msg="all workers ready"`, 1)
	c := freshClient()
	b := getFacts(t, c, s.URL+"/b/")
	namesFacts(t, b, "b")
	namesFacts(t, getFacts(t, c, s.URL+"/a/"), "a")
	send(t, c, 1, "GET", s.URL+"/static/site.css", "", 200)
	send(t, c, 1, "GET", s.URL+"/nowhere", "", 404)

	mfs := waitValue(t, base, s.Log, 1, "pyhost_requests_total", "process_group", "router",
		"status", "4xx")
	if got := value(mfs, "pyhost_requests_total", "process_group", "router", "worker", "supervisor",
		"status", "2xx"); got != 1 {
		t.Errorf("router's static file: pyhost_requests_total{process_group=router,status=2xx} = %v, want 1", got)
	}
	if got := value(mfs, "pyhost_requests_total"); got != 4 {
		t.Errorf("pyhost_requests_total = %v over all series, want 4 (2 forwarded, counted by "+
			"their workers only, and 2 the router answered)", got)
	}
	if got := value(mfs, "pyhost_requests_total", "process_group", "b", "worker", "0"); got != 1 {
		t.Errorf("pyhost_requests_total{process_group=b,worker=0} = %v, want 1", got)
	}
	worker := namesWorker(t, s.Log.String(), b.PID, "b")
	if worker != "0" || value(mfs, "pyhost_worker_starts_total", "process_group", "b", "worker", worker) != 1 {
		t.Errorf("the logs say group b's worker is worker=%s; want 0, as "+
			"pyhost_worker_starts_total{process_group=b,worker=%q} should be 1", worker, worker)
	}
	v, body := getThreads(t, addr, "")
	for _, p := range v.Processes {
		if p.PID == b.PID && (p.ProcessGroup != "b" || p.Slot != 0) {
			t.Errorf("/debug/threads: want pid %d as process group b, worker 0:\n%s", b.PID, body)
		}
	}

	byURI := map[string][]accessEntry{}
	for _, e := range readAccessLog(t, accessLog, 4, true) {
		byURI[e.URI] = append(byURI[e.URI], e)
	}
	for uri, want := range map[string]struct {
		group  string
		status int
		pid    int
	}{"/b/": {"b", 200, b.PID}, "/a/": {"a", 200, 0}, "/static/site.css": {"router", 200, s.cmd.Process.Pid},
		"/nowhere": {"router", 404, s.cmd.Process.Pid}} {
		es := byURI[uri]
		if len(es) != 1 || es[0].ProcessGroup != want.group || es[0].Status != want.status ||
			want.pid != 0 && es[0].PID != want.pid {
			t.Errorf("access log for %s: %+v; want one line, process_group %s, status %d, pid %d",
				uri, es, want.group, want.status, want.pid)
		}
	}
}
