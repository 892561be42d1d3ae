package pyhost_test

// --listen unix:PATH: a Unix domain socket, as behind nginx. One process and --processes (the
// supervisor binds the socket, workers inherit it, a reload keeps it), the router of several
// process groups, stale socket files, a live one refused, --socket-mode, and the file removed
// at a clean exit.

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// unixEnvApp answers with what a request on a Unix socket tells the app about its peer and
// server, and its pid.
const unixEnvApp = `import json, os

def application(environ, start_response):
    keys = ("REMOTE_ADDR", "REMOTE_PORT", "SERVER_NAME", "SERVER_PORT", "HTTP_HOST")
    facts = {k: environ.get(k) for k in keys}
    facts["pid"] = os.getpid()
    body = json.dumps(facts).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
`

// unixFacts is unixEnvApp's answer.
type unixFacts struct {
	RemoteAddr *string `json:"REMOTE_ADDR"`
	RemotePort *string `json:"REMOTE_PORT"`
	ServerName string  `json:"SERVER_NAME"`
	ServerPort string  `json:"SERVER_PORT"`
	Host       string  `json:"HTTP_HOST"`
	PID        int     `json:"pid"`
}

// unixClient is an HTTP client whose every connection goes to the Unix socket at path
// (the URL's host only names the Host header); keepAlive false opens one per request.
func unixClient(path string, keepAlive bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: !keepAlive,
	}}
}

// socketDir is a new folder for socket files: short enough a path for sun_path (t.TempDir's
// names the test, and may not be).
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pyhost-unix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// waitUnixServes waits (60 s at most) until a GET of path through c answers 200.
func waitUnixServes(t *testing.T, p *process, c *http.Client, path string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := c.Get("http://pyhost.test" + path); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("pyhost exited before serving on its Unix socket (%v); log:\n%s", p.waitErr, p.Log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pyhost did not serve on its Unix socket within 60 s; log:\n%s", p.Log)
		}
	}
}

// staleSocket leaves at path the socket file of a listener that is gone, as a killed server
// leaves it.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
}

// stopCleanlyAndGone stops p with SIGTERM, wants exit status 0, and the socket file gone.
func stopCleanlyAndGone(t *testing.T, p *process, sock string) {
	t.Helper()
	if err := p.stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Log)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("after a clean exit the socket file %s is still there (%v)", sock, err)
	}
}

// One process on a Unix socket: a stale socket file is replaced; --socket-mode applies; the
// app sees an empty REMOTE_ADDR and SERVER_NAME/PORT from Host (localhost and 80 without
// one); keep-alive works; a stalled head gets its 408; the access log and metrics take the request; a second server on
// the same path is refused while the first serves, as is a path that is no socket; the file
// goes at exit.
func TestUnixSocketSingleProcess(t *testing.T) {
	dir := socketDir(t)
	sock := filepath.Join(dir, "pyhost.sock")
	app := filepath.Join(dir, "env.py")
	writeFile(t, app, unixEnvApp)
	access := filepath.Join(dir, "access.log")
	staleSocket(t, sock)
	p := startProcess(t, app, "--listen", "unix:"+sock, "--socket-mode", "0660",
		"--access-log", access, "--metrics-listen", "127.0.0.1:0", "--header-timeout", "1s")
	c := unixClient(sock, true)
	waitUnixServes(t, p, c, "/")

	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket file mode %v, want a socket with 0660 (--socket-mode)", fi.Mode())
	}

	var f unixFacts
	getJSONFrom(t, c, p.Log, "http://app.example:8080/", &f)
	if f.RemoteAddr == nil || *f.RemoteAddr != "" || f.ServerName != "app.example" ||
		f.ServerPort != "8080" {
		t.Errorf("environ on a Unix socket with Host app.example:8080: %+v (REMOTE_ADDR %q); "+
			"want REMOTE_ADDR empty, SERVER_NAME app.example, SERVER_PORT 8080", f, str(f.RemoteAddr))
	}
	getJSONFrom(t, c, p.Log, "http://app.example/", &f)
	if f.ServerName != "app.example" || f.ServerPort != "80" {
		t.Errorf("Host without a port: SERVER_NAME %q SERVER_PORT %q, want app.example 80",
			f.ServerName, f.ServerPort)
	}
	// HTTP/1.0 without Host, then a second request on the same kept-alive connection.
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := 0; i < 2; i++ {
		if _, err := conn.Write([]byte("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")); err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v\n%s", i, err, p.Log)
		}
		var g unixFacts
		err = json.NewDecoder(resp.Body).Decode(&g)
		resp.Body.Close()
		if err != nil || g.ServerName != "localhost" || g.ServerPort != "80" {
			t.Errorf("HTTP/1.0 without Host: %+v (%v); want SERVER_NAME localhost, SERVER_PORT 80", g, err)
		}
	}
	conn.Close()
	// The connection guards hold on a Unix socket too: a stalled head gets its 408.
	slow, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(slow), nil); err != nil ||
		resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a head stalled past --header-timeout on the Unix socket: %v %v, want 408", resp, err)
	}

	// The access log names the peer "-"; the metrics counted the 5 requests.
	if lines := readAccessLog(t, access, 5, false); lines[0].Status != 200 {
		t.Errorf("access log: %+v", lines[0])
	}
	if b, _ := os.ReadFile(access); !strings.HasPrefix(string(b), "- - - [") {
		t.Errorf("access log line for a Unix peer: %q, want it to start with \"- - - [\"", b)
	}
	base := "http://" + metricsAddr(t, p)
	if n := value(scrape(t, base), "pyhost_requests_total"); n < 5 {
		t.Errorf("pyhost_requests_total %v after 5 requests on the Unix socket", n)
	}

	// A second server on the same path is refused: the socket is live.
	r := runPyhost(t, together, append([]string{"serve", app, "--listen", "unix:" + sock},
		asRoot()...)...)
	if r.Code == 0 || !strings.Contains(r.Out, "already accepts connections on "+sock) {
		t.Errorf("a second pyhost on a live socket: exit %d, want a refusal naming it:\n%s", r.Code, r.Out)
	}
	if _, err := c.Get("http://pyhost.test/"); err != nil {
		t.Errorf("the first server after a second was refused: %v", err)
	}
	// A path that is no socket is refused, and left alone.
	plain := filepath.Join(dir, "plain.sock")
	writeFile(t, plain, "not a socket\n")
	r = runPyhost(t, together, append([]string{"serve", app, "--listen", "unix:" + plain},
		asRoot()...)...)
	if r.Code == 0 || !strings.Contains(r.Out, "is not a socket") {
		t.Errorf("--listen unix: on a regular file: exit %d, want a refusal:\n%s", r.Code, r.Out)
	}
	if b, _ := os.ReadFile(plain); string(b) != "not a socket\n" {
		t.Errorf("the regular file was changed: %q", b)
	}

	stopCleanlyAndGone(t, p, sock)
}

// --processes 2 on a Unix socket (with a stale file there first): the supervisor binds it
// and the workers inherit it; SIGHUP under load from 8 clients, each on new connections,
// fails no request; the new workers serve on the same socket, which is still the same file;
// the file goes when the supervisor exits.
func TestUnixSocketProcessesReload(t *testing.T) {
	dir := socketDir(t)
	sock := filepath.Join(dir, "pyhost.sock")
	app, version := filepath.Join(dir, "app.py"), filepath.Join(dir, "version.txt")
	copyTestdata(t, "processes.py", app)
	writeFile(t, version, "v1")
	staleSocket(t, sock)
	p := startProcess(t, app, "--processes", "2", "--listen", "unix:"+sock,
		"--socket-mode", "0600")
	p.stopWithin = 60 * time.Second
	c := unixClient(sock, false)
	waitUnixServes(t, p, c, "/")
	before, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if before.Mode().Perm() != 0o600 {
		t.Errorf("socket file mode %v, want 0600", before.Mode())
	}
	old := map[int]bool{}
	for i := 0; i < 40 && len(old) < 2; i++ {
		old[mustAsk(t, c, "http://pyhost.test/").PID] = true
	}

	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		failures        []string
		served, reloadd atomic.Int64
	)
	end := time.Now().Add(4 * time.Second)
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			c := unixClient(sock, false)
			for time.Now().Before(end) {
				a, err := ask(c, "http://pyhost.test/")
				switch {
				case err != nil:
					mu.Lock()
					failures = append(failures, time.Now().UTC().Format("15:04:05.000")+" "+err.Error())
					mu.Unlock()
				case a.Version == "v2":
					reloadd.Add(1)
				default:
					served.Add(1)
				}
			}
		})
	}
	time.Sleep(time.Second)
	writeFile(t, version, "v2")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	t.Logf("during the reload: %d answers from the old code, %d from the new", served.Load(), reloadd.Load())
	for _, f := range failures {
		t.Errorf("request failed during the reload: %s", f)
	}
	if t.Failed() {
		t.Log(p.Log)
	}
	for pid := range old {
		waitGone(t, pid, 15*time.Second)
	}
	for i := 0; i < 20; i++ {
		if a := mustAsk(t, c, "http://pyhost.test/"); a.Version != "v2" || old[a.PID] {
			t.Fatalf("after the reload pid %d answered %q, want a new worker with v2", a.PID, a.Version)
		}
	}
	after, err := os.Lstat(sock)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("after the reload the socket file is not the one bound at start (%v)", err)
	}
	stopCleanlyAndGone(t, p, sock)
}

// Two process groups behind the supervisor's router, which accepts on a Unix socket (and a
// TCP port beside it): each group answers there, REMOTE_ADDR empty for the Unix peer; the
// file goes at exit.
func TestUnixSocketProcessGroups(t *testing.T) {
	dir := socketDir(t)
	sock := filepath.Join(dir, "front.sock")
	cfg := groupsConfig(t, `listen = ["unix:`+sock+`", "127.0.0.1:0"]`+"\n"+
		routedAB("processes = 2", ""))
	p := startProcess(t, "--config", cfg)
	p.stopWithin = 60 * time.Second
	c := unixClient(sock, true)
	waitUnixServes(t, p, c, "/a/")
	a, b := getFacts(t, c, "http://pyhost.test/a/"), getFacts(t, c, "http://pyhost.test/b/")
	if a.ProcessGroup != "a" || b.ProcessGroup != "b" || a.PID == b.PID {
		t.Errorf("through the Unix socket: /a from group %q (pid %d), /b from %q (pid %d)",
			a.ProcessGroup, a.PID, b.ProcessGroup, b.PID)
	}
	if a.RemoteAddr != "" || a.ServerPort != "80" {
		t.Errorf("group a behind the router on a Unix socket: REMOTE_ADDR %q SERVER_PORT %q, "+
			"want empty and 80 (from Host)", a.RemoteAddr, a.ServerPort)
	}
	waitForLines(t, p, `msg="all workers ready"`, 1) // the reload then replaces all three
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitForLines(t, p, `reason="replaced by a new worker"`, 3)
	if f := getFacts(t, c, "http://pyhost.test/b/"); f.ProcessGroup != "b" {
		t.Errorf("after the reload /b answered from %q", f.ProcessGroup)
	}
	stopCleanlyAndGone(t, p, sock)
}

// Started as root with --user nobody --group nogroup, the socket file is theirs: made by the
// supervisor (root) and given to them under --processes, made by the one process after it
// became them without.
func TestUnixSocketOwnerAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the socket's owner comes from --user/--group when started as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody:", err)
	}
	group, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skip("no group nogroup:", err)
	}
	for name, extra := range map[string][]string{
		"--processes 1": {"--processes", "1"}, "one process": nil} {
		t.Run(name, func(t *testing.T) {
			dir := socketDir(t)
			if err := os.Chmod(dir, 0o1777); err != nil { // one process binds as nobody
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "pyhost.sock")
			p := startProcess(t, append([]string{"testdata/processes.py", "--listen", "unix:" + sock,
				"--user", "nobody", "--group", "nogroup", "--socket-mode", "0660"}, extra...)...)
			c := unixClient(sock, false)
			waitUnixServes(t, p, c, "/")
			fi, err := os.Lstat(sock)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if strconv.Itoa(int(st.Uid)) != nobody.Uid || strconv.Itoa(int(st.Gid)) != group.Gid ||
				fi.Mode().Perm() != 0o660 {
				t.Errorf("socket file %v owned by %d:%d, want 0660 and nobody:nogroup (%s:%s)",
					fi.Mode(), st.Uid, st.Gid, nobody.Uid, group.Gid)
			}
			stopCleanlyAndGone(t, p, sock)
		})
	}
}
