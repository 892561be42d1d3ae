package pyhost_test

// Several process groups in one server (a config file): the supervisor's router, each
// group's own settings, static aliases served by Go, privileges and process names.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// groupFacts is what testdata/groups_app.py reports.
type groupFacts struct {
	Multiprocess     bool   `json:"wsgi.multiprocess"`
	Multithread      bool   `json:"wsgi.multithread"`
	RemoteAddr       string `json:"REMOTE_ADDR"`
	RemotePort       string `json:"REMOTE_PORT"`
	ServerPort       string `json:"SERVER_PORT"`
	ScriptName       string `json:"SCRIPT_NAME"`
	PathInfo         string `json:"PATH_INFO"`
	ProcessGroup     string `json:"pyhost.process_group"`
	ApplicationGroup string `json:"pyhost.application_group"`
	PID              int    `json:"pid"`
	UID              int    `json:"uid"`
	Module           struct {
		ProcessGroup      string `json:"process_group"`
		MaximumProcesses  int    `json:"maximum_processes"`
		ThreadsPerProcess int    `json:"threads_per_process"`
	} `json:"module"`
	RouterHeaders []string `json:"router_headers"`
}

// trackingClient records the local address of each connection it opens, so a test can
// compare REMOTE_PORT with the client's real port.
func trackingClient(ports chan<- string) *http.Client {
	d := &net.Dialer{}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				_, port, _ := net.SplitHostPort(c.LocalAddr().String())
				ports <- port
			}
			return c, err
		}}}
}

// getFacts fetches url through c and decodes groups_app.py's answer.
func getFacts(t *testing.T, c *http.Client, url string, hdr ...string) groupFacts {
	t.Helper()
	var f groupFacts
	getJSONFrom(t, c, nil, url, &f, hdr...)
	return f
}

// Two groups on one listener: the router sends /a and /b to different processes, each with
// its group's settings and the seed's wsgi flags (processes given: multiprocess, even in
// one group; threads ≠ 1: multithread), the real client in REMOTE_ADDR/PORT, the listener's
// port in SERVER_PORT; a reload and a stop go through every group.
func TestProcessGroupsRouted(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, twoGroups()))
	waitForLines(t, s, `msg="all workers ready"`, 1)
	ports := make(chan string, 100)
	c := trackingClient(ports)
	_, listenPort, _ := net.SplitHostPort(s.Addr)

	// A client cannot pass itself off as another through the router's own headers.
	a := getFacts(t, c, s.URL+"/a/x", "Pyhost-Forwarded-Client", "203.0.113.9:1")
	clientPort := <-ports
	b := getFacts(t, c, s.URL+"/b/y")
	if a.PID == b.PID {
		t.Fatalf("/a and /b answered from one process %d", a.PID)
	}
	for _, f := range []groupFacts{a, b} {
		if f.RemoteAddr != "127.0.0.1" || f.ServerPort != listenPort || len(f.RouterHeaders) > 0 {
			t.Errorf("%s: REMOTE_ADDR %q SERVER_PORT %q router headers %v; want 127.0.0.1, %s, none",
				f.ScriptName, f.RemoteAddr, f.ServerPort, f.RouterHeaders, listenPort)
		}
	}
	if a.RemotePort != clientPort {
		t.Errorf("REMOTE_PORT %q, want the client's port %s", a.RemotePort, clientPort)
	}
	if a.ScriptName != "/a" || a.PathInfo != "/x" || b.ScriptName != "/b" || b.PathInfo != "/y" {
		t.Errorf("SCRIPT_NAME/PATH_INFO: %q %q, %q %q", a.ScriptName, a.PathInfo, b.ScriptName, b.PathInfo)
	}
	// group a: processes = 2, threads = 1; group b: processes omitted, threads = 4.
	if !a.Multiprocess || a.Multithread || a.Module.MaximumProcesses != 2 || a.Module.ThreadsPerProcess != 1 {
		t.Errorf("group a: %+v; want multiprocess, not multithread, 2 processes × 1 thread", a)
	}
	if b.Multiprocess || !b.Multithread || b.Module.MaximumProcesses != 1 || b.Module.ThreadsPerProcess != 4 {
		t.Errorf("group b: %+v; want multithread, not multiprocess, 1 process × 4 threads", b)
	}
	if a.ProcessGroup != "a" || a.Module.ProcessGroup != "a" || b.ProcessGroup != "b" ||
		a.ApplicationGroup != "%{GLOBAL}" || b.ApplicationGroup != "shop" {
		t.Errorf("process/application groups: a %q %q %q, b %q %q", a.ProcessGroup,
			a.Module.ProcessGroup, a.ApplicationGroup, b.ProcessGroup, b.ApplicationGroup)
	}
	// The router keeps connections to the workers alive, so requests one after another
	// stay with one worker: concurrent ones open more connections, which both accept.
	aPIDs := map[int]bool{}
	for round := 0; round < 30 && len(aPIDs) < 2; round++ {
		facts := make(chan groupFacts, 8)
		for i := 0; i < 8; i++ {
			go func() {
				var f groupFacts
				if err := tryGetJSON(freshClient(), s.URL+"/a/", &f); err != nil {
					t.Error(err)
				}
				facts <- f
			}()
		}
		for i := 0; i < 8; i++ {
			f := <-facts
			aPIDs[f.PID] = true
			if f.PID == b.PID {
				t.Fatalf("a request under /a reached group b's process %d", f.PID)
			}
		}
	}
	if len(aPIDs) != 2 {
		t.Errorf("group a (processes = 2) answered from %v", aPIDs)
	}
	// Bodies pass through the router both ways: 1 MiB in, chunked (no length) out.
	big := strings.Repeat("0123456789abcdef", 1<<16)
	resp, echoed := s.do(t, "POST", "/b/echo", strings.NewReader(big))
	if resp.StatusCode != 200 || string(echoed) != big {
		t.Errorf("POST 1 MiB through the router: %d, %d bytes back", resp.StatusCode, len(echoed))
	}
	if resp, _ := s.get(t, "/elsewhere"); resp.StatusCode != 404 {
		t.Errorf("a path outside every mount: %d, want 404", resp.StatusCode)
	}

	// SIGHUP: every group gets new workers, and both still answer.
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLines(t, s, `reason="replaced by a new worker"`, 3)
	// An old worker told to drain may still answer a request already on its way (that is the
	// point of draining): new workers must take over, within a bound.
	var a2, b2 groupFacts
	for deadline := time.Now().Add(15 * time.Second); ; {
		a2, b2 = getFacts(t, c, s.URL+"/a/"), getFacts(t, c, s.URL+"/b/")
		if !aPIDs[a2.PID] && a2.PID != a.PID && b2.PID != b.PID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after SIGHUP, old processes still answer: a %d (was %v), b %d "+
				"(was %d)\n%s", a2.PID, aPIDs, b2.PID, b.PID, s.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, s.Log)
	}
	if n := countLines(s.Log.String(), `msg="worker stopped"`); n < 6 {
		t.Errorf("%d workers stopped, want the 3 of each generation\n%s", n, s.Log)
	}
	if !strings.Contains(s.Log.String(), `msg="stopped cleanly" supervisor=`) {
		t.Errorf("the supervisor did not stop cleanly\n%s", s.Log)
	}
}

// A static alias on a routed listener is served by the supervisor, in Go: it answers while
// the only group's app cannot even be imported, with content types, ranges and conditional
// requests, and refuses dotfiles, folders and paths that climb out.
func TestStaticAliasServedByRouter(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, groupTable("broken")+groupTable("other")+
		mountTable("/", "broken.py", "broken")+mountTable("/other", "broken.py", "other")+staticAlias))
	waitForLines(t, s, `msg="worker could not start`, 2)
	resp, body := s.get(t, "/static/site.css")
	if resp.StatusCode != 200 || string(body) != "body { color: #333; }\n" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("GET /static/site.css: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if strings.Contains(s.Log.String(), `msg="worker ready"`) {
		t.Fatalf("a worker got ready with an app that cannot import:\n%s", s.Log)
	}
	resp, body = s.get(t, "/static/site.css", "Range", "bytes=0-3")
	if resp.StatusCode != 206 || string(body) != "body" || resp.Header.Get("Content-Range") != "bytes 0-3/22" {
		t.Errorf("Range: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Range"), body)
	}
	lastMod := resp.Header.Get("Last-Modified")
	if resp, _ = s.get(t, "/static/site.css", "If-Modified-Since", lastMod); resp.StatusCode != 304 {
		t.Errorf("If-Modified-Since %q: %d, want 304", lastMod, resp.StatusCode)
	}
	for path, ct := range map[string]string{"/static/page.html": "text/html", "/static/data.json": "application/json",
		"/static/sub/nested.css": "text/css"} {
		if resp, _ := s.get(t, path); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ct)
		}
	}
	for _, path := range []string{"/static/.env", "/static/sub/.git/HEAD", "/static/", "/static/sub/",
		"/static/../outside.txt", "/static/sub/../../outside.txt", "/static/%2e%2e/outside.txt",
		"/static/..%2foutside.txt"} {
		status, body := rawStatus(t, s, path)
		if status != 404 || strings.Contains(body, "not under the alias") || strings.Contains(body, "SECRET") {
			t.Errorf("GET %s: %d %q, want 404", path, status, body)
		}
	}
	if resp, _ := s.do(t, "POST", "/static/site.css", strings.NewReader("x")); resp.StatusCode != 405 {
		t.Errorf("POST to a static file: %d, want 405", resp.StatusCode)
	}
	_ = s.stop() // the supervisor is retrying the broken workers; a stop must still end it
	if !strings.Contains(s.Log.String(), `msg="stopped cleanly" supervisor=`) {
		t.Errorf("the supervisor did not stop cleanly\n%s", s.Log)
	}
}

// rawStatus sends path exactly as written (Go's client would clean "..") and returns the status
// and body.
func rawStatus(t *testing.T, s *server, path string) (int, string) {
	t.Helper()
	conn := dial(t, s)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// One group: its workers accept on the listener themselves, with no hop through the
// supervisor (which holds no connection), and serve the static aliases too.
func TestOneGroupWorkersAcceptDirectly(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, groupTable("only", "processes = 2")+
		mountTable("/", "app.py", "")+staticAlias))
	waitForLines(t, s, `msg="all workers ready"`, 1)
	if strings.Contains(s.Log.String(), "routing to process groups") {
		t.Fatalf("one group went through the router:\n%s", s.Log)
	}
	conn := dial(t, s)
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	var f groupFacts
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The connection is still open: the process holding its server side is the worker.
	_, port, _ := net.SplitHostPort(conn.LocalAddr().String())
	owner := socketOwner(t, port, []int{s.cmd.Process.Pid, f.PID})
	if owner != f.PID {
		t.Errorf("the server side of the connection is held by %d; want the worker %d (supervisor %d)",
			owner, f.PID, s.cmd.Process.Pid)
	}
	if f.ProcessGroup != "only" || !f.Multiprocess {
		t.Errorf("facts: %+v", f)
	}
	if resp, body := s.get(t, "/static/site.css"); resp.StatusCode != 200 || !strings.Contains(string(body), "color") {
		t.Errorf("a worker's static alias: %d %q", resp.StatusCode, body)
	}
}

// socketOwner returns which of pids holds the server side of the loopback TCP connection
// whose client port is clientPort (0: none of them).
func socketOwner(t *testing.T, clientPort string, pids []int) int {
	t.Helper()
	p, _ := strconv.Atoi(clientPort)
	want := fmt.Sprintf(":%04X", p)
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	inode := ""
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		// sl local remote st ... inode (field 9): the server side's remote is the client.
		if len(f) > 9 && strings.HasSuffix(f[2], want) && f[3] == "01" {
			inode = f[9]
		}
	}
	if inode == "" {
		t.Fatalf("no established connection from port %s in /proc/net/tcp", clientPort)
	}
	for _, pid := range pids {
		links, _ := fdLinks(pid)
		for _, l := range links {
			if l == "socket:["+inode+"]" {
				return pid
			}
		}
	}
	return 0
}

// --static on the command line: a single process serves files without Python.
func TestStaticFlag(t *testing.T) {
	s := startServer(t, "testdata/hello.py", "--static", "/files=testdata/config/site/static")
	resp, body := s.get(t, "/files/site.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || len(body) == 0 {
		t.Errorf("GET /files/site.css: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if status, _ := rawStatus(t, s, "/files/../app.py"); status != 404 {
		t.Errorf("climbing out of the alias: %d, want 404", status)
	}
	if resp, body := s.get(t, "/"); resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("the app beside the alias: %d", resp.StatusCode)
	}
}

// Started as root, pyhost refuses to run apps as root unless --allow-root says so.
func TestRefusesRootWithoutAllowRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs to run as root")
	}
	for _, args := range [][]string{
		{"serve", "testdata/hello.py", "--listen", "127.0.0.1:0"},
		{"serve", "testdata/hello.py", "--processes", "1", "--listen", "127.0.0.1:0"},
		{"serve", "--config", groupsConfig(t, twoGroups()), "--listen", "127.0.0.1:0"},
	} {
		r := runPyhost(t, apart, args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "pyhost refuses to run Python apps as root: give --user") {
			t.Errorf("%q: exit %d, want 2 and the refusal\n%s%s", args, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// user = "nobody" in a group: its workers drop to nobody before Python starts (the app sees
// nobody's uid) while the supervisor stays root; display-name is the workers' name in ps.
func TestGroupRunsAsUserWithDisplayName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs to run as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	s := startServer(t, "--config", groupsConfig(t, routedAB(
		"user = \"nobody\"\ndisplay-name = \"pyhost-group-a\"", "user = \"nobody\"\nthreads = 2")))
	a := getFacts(t, client, s.URL+"/a/")
	b := getFacts(t, client, s.URL+"/b/")
	if strconv.Itoa(a.UID) != nobody.Uid || strconv.Itoa(b.UID) != nobody.Uid {
		t.Errorf("apps run as uid %d and %d, want nobody's %s", a.UID, b.UID, nobody.Uid)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", a.PID))
	if err != nil {
		t.Fatal(err)
	}
	if argv0, _, _ := strings.Cut(string(cmdline), "\x00"); argv0 != "pyhost-group-a" {
		t.Errorf("group a's worker shows as %q in ps, want pyhost-group-a", argv0)
	}
	if uid, _ := procStatus(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid), "Uid"); !strings.HasPrefix(uid, "0\t") {
		t.Errorf("the supervisor should stay root (to bind ports): Uid: %s", uid)
	}
}

// A routed group's worker killed with SIGKILL: its replacement inherits the same socket and
// the router reaches it; the other group never noticed.
func TestProcessGroupsWorkerKilled(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, twoGroups()))
	waitForLines(t, s, `msg="all workers ready"`, 1)
	b := getFacts(t, client, s.URL+"/b/")
	if err := syscall.Kill(b.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, b.PID, 10*time.Second)
	waitForLines(t, s, `msg="worker ready"`, 4) // 3 at the start, then b's replacement
	b2 := getFacts(t, client, s.URL+"/b/")
	if b2.PID == b.PID || b2.ProcessGroup != "b" {
		t.Errorf("after b's worker %d was killed, /b/ answered from %d (group %q)", b.PID, b2.PID, b2.ProcessGroup)
	}
	if a2 := getFacts(t, client, s.URL+"/a/"); a2.ProcessGroup != "a" {
		t.Errorf("/a/ after b's worker died: %+v", a2)
	}
}

// A group with no ready worker (its app cannot be imported: its workers keep failing to
// start) answers 503 with Retry-After once its queue-timeout has passed, rather than holding
// the request forever on a socket nobody accepts on; the other group still answers.
func TestRoutedGroupWithoutWorkerAnswers503(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, groupTable("broken", `queue-timeout = "1s"`)+
		groupTable("good")+mountTable("/broken", "broken.py", "broken")+mountTable("/good", "app.py", "good")))
	waitForLines(t, s, `msg="worker could not start`, 1)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(s.URL + "/broken/")
	if err != nil {
		t.Fatalf("GET /broken/: %v (before the fix: held until the client gave up)", err)
	}
	body, _ := readAll(resp)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET /broken/: %d %q Retry-After %q; want 503 with Retry-After", resp.StatusCode,
			body, resp.Header.Get("Retry-After"))
	}
	waitForLog(t, s, "no worker of its process group became ready in time")
	if f := getFacts(t, c, s.URL+"/good/"); f.ProcessGroup != "good" {
		t.Errorf("/good/ beside a broken group: %+v", f)
	}
}

// TestRouterGuardsItsListeners: the supervisor's router, in front of several process groups,
// answers an endless request line with 414 and a stalled head with 408, as a worker's own
// listener does, and keeps serving.
func TestRouterGuardsItsListeners(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, routedAB(`header-timeout = "2s"`, `header-timeout = "2s"`)))
	waitForLines(t, s, `msg="all workers ready"`, 1)
	resp, body, closed := exchange(t, s, "GET /a/"+strings.Repeat("a", 1<<20))
	if resp.StatusCode != http.StatusRequestURITooLong || !closed {
		t.Errorf("an endless request line through the router: %d %q (closed %v), want 414 and close",
			resp.StatusCode, body, closed)
	}
	wantHeadTimeout(t, s, "/a/x", " at the router")
	if resp, _ := s.get(t, "/b/y"); resp.StatusCode != 200 {
		t.Errorf("GET /b/y after the refusals: %d", resp.StatusCode)
	}
}
