package pyhost_test

// pyhost under systemd, without systemd: systemd-socket-activate (systemd's own tool, as a
// socket unit would) binds a TCP or Unix socket and execs the real binary with LISTEN_FDS, and
// the test is the service manager's end of NOTIFY_SOCKET (a unixgram socket it reads). The
// units themselves are checked with systemd-analyze verify.

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sdEnvApp answers with the systemd variables the app can see (none, if pyhost took them) and
// its pid; its import sends IMPORTED=1 to SDTEST_NOTIFY.
const sdEnvApp = `import json, os, socket

# Each import says so on the test's notify socket, so that the order of the datagrams shows
# whether READY=1 came after the apps loaded.
if os.environ.get("SDTEST_NOTIFY"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"IMPORTED=1\n", os.environ["SDTEST_NOTIFY"])
    s.close()

NAMES = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC")

def application(environ, start_response):
    seen = {n: os.environ[n] for n in NAMES if n in os.environ}
    body = json.dumps({"env": seen, "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
`

type sdAnswer struct {
	Env map[string]string `json:"env"`
	PID int               `json:"pid"`
}

// notifySocket is the service manager's end of NOTIFY_SOCKET: every datagram pyhost sends.
type notifySocket struct {
	Path string
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	n := &notifySocket{Path: filepath.Join(socketDir(t), "notify")}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.Path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifySocket) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// waitFor waits (60 s at most) for a message from index from on that has every line of want,
// and returns its index.
func (n *notifySocket) waitFor(t *testing.T, p *process, from int, want ...string) int {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		msgs := n.all()
		for i := from; i < len(msgs); i++ {
			if hasLines(msgs[i], want...) {
				return i
			}
		}
	}
	t.Fatalf("no notification with %q after message %d; got %q\nlog:\n%s", want, from, n.all(), p.Log)
	return -1
}

// hasLines says whether the message msg has every NAME=value line of want (a want ending in
// "=" asks for the name only).
func hasLines(msg string, want ...string) bool {
	lines := strings.Split(strings.TrimSuffix(msg, "\n"), "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w || (strings.HasSuffix(w, "=") && strings.HasPrefix(l, w)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// socketActivate runs `systemd-socket-activate -l listen ... pyhost serve args` with env
// (NAME=value, passed on with -E). The tool execs pyhost in its own process once the first
// connection comes, so the process's pid is pyhost's.
func socketActivate(t *testing.T, listen string, env []string, args ...string) *process {
	t.Helper()
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate is not installed (Debian's systemd package has it)")
	}
	argv := []string{"-l", listen, "--fdname=web"}
	for _, e := range env {
		argv = append(argv, "-E", e)
	}
	argv = append(append(append(argv, pyhostBin, "serve"), args...), asRoot()...)
	cmd := exec.Command(tool, argv...)
	cmd.Dir = repoPath()
	p := &process{t: t, cmd: cmd, Log: &logBuffer{}, exited: make(chan struct{}),
		stopWithin: 60 * time.Second}
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.kill)
	return p
}

// freeTCPAddr is a loopback address no one listens on now.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// getSD asks the app through c (retrying while the tool has not yet bound its socket).
func getSD(t *testing.T, p *process, c *http.Client, url string) sdAnswer {
	t.Helper()
	var a sdAnswer
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := tryGetJSON(c, url, &a)
		if err == nil {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v\nlog:\n%s", url, err, p.Log)
		}
	}
}

func countMsgs(msgs []string, line string) int {
	k := 0
	for _, m := range msgs {
		if hasLines(m, line) {
			k++
		}
	}
	return k
}

func writeSDApp(t *testing.T) string {
	t.Helper()
	app := filepath.Join(t.TempDir(), "sdenv.py")
	if err := os.WriteFile(app, []byte(sdEnvApp), 0o644); err != nil {
		t.Fatal(err)
	}
	return app
}

// A single process on a TCP socket systemd bound: the socket replaces --listen (here an
// address that could not be bound at all), READY=1 comes after the app loaded, the app sees
// none of the variables, SIGTERM sends STOPPING=1 and the process exits 0.
func TestSystemdSocketActivationTCPSingleProcess(t *testing.T) {
	n := listenNotify(t)
	addr := freeTCPAddr(t)
	p := socketActivate(t, addr, []string{"NOTIFY_SOCKET=" + n.Path, "SDTEST_NOTIFY=" + n.Path},
		writeSDApp(t), "--preload", "--listen", "unix:/nonexistent-pyhost-dir/never.sock")
	a := getSD(t, p, freshClient(), "http://"+addr+"/")
	if len(a.Env) != 0 {
		t.Errorf("the app sees systemd's variables %v: pyhost should have taken them", a.Env)
	}
	if a.PID != p.cmd.Process.Pid {
		t.Errorf("served by pid %d, want the activated process %d", a.PID, p.cmd.Process.Pid)
	}
	ready := n.waitFor(t, p, 0, "READY=1", "STATUS=")
	if !strings.Contains(n.all()[ready], addr) {
		t.Errorf("READY=1's status %q does not name the socket %s", n.all()[ready], addr)
	}
	// READY=1 is sent after the app loaded (--preload): after its import's datagram.
	if countMsgs(n.all()[:ready], "IMPORTED=1") != 1 {
		t.Errorf("READY=1 did not come after the app's import: %q", n.all())
	}
	if log := p.Log.String(); !strings.Contains(log, "serving on the sockets systemd passed") {
		t.Errorf("the log does not say the systemd sockets replace --listen:\n%s", log)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v\nlog:\n%s", err, p.Log)
	}
	n.waitFor(t, p, ready+1, "STOPPING=1")
}

// --processes 2 on a Unix socket systemd bound: the supervisor holds it and passes it to its
// workers; it alone notifies (the workers never see NOTIFY_SOCKET); SIGHUP sends RELOADING=1
// with MONOTONIC_USEC, then READY=1 once the new workers serve; the socket file is systemd's,
// so pyhost leaves it at exit.
func TestSystemdSocketActivationUnixProcesses(t *testing.T) {
	n := listenNotify(t)
	sock := filepath.Join(socketDir(t), "web.sock")
	p := socketActivate(t, sock, []string{"NOTIFY_SOCKET=" + n.Path, "SDTEST_NOTIFY=" + n.Path},
		writeSDApp(t), "--preload", "--processes", "2", "--shutdown-timeout", "10s")
	c := unixClient(sock, false)
	first := getSD(t, p, c, "http://pyhost.test/")
	if len(first.Env) != 0 {
		t.Errorf("a worker's app sees systemd's variables %v", first.Env)
	}
	if first.PID == p.cmd.Process.Pid {
		t.Errorf("served by the supervisor itself, want a worker")
	}
	ready := n.waitFor(t, p, 0, "READY=1", "STATUS=")
	if !strings.Contains(n.all()[ready], "2 workers ready") {
		t.Errorf("READY=1's status: %q, want it to say 2 workers ready", n.all()[ready])
	}
	if imports := countMsgs(n.all()[:ready], "IMPORTED=1"); imports != 2 {
		t.Errorf("%d imports before READY=1, want both workers' (2): %q", imports, n.all())
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := n.waitFor(t, p, ready+1, "RELOADING=1", "MONOTONIC_USEC=")
	reloaded := n.waitFor(t, p, reloading+1, "READY=1")
	if !strings.Contains(n.all()[reloaded], "reloaded") {
		t.Errorf("READY=1 after the reload: %q, want its status to say reloaded", n.all()[reloaded])
	}
	// By READY=1 the old workers are draining; the answer comes from a new one.
	if after := getSD(t, p, c, "http://pyhost.test/"); after.PID == first.PID {
		t.Errorf("still served by the old worker %d after the reload's READY=1", first.PID)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v\nlog:\n%s", err, p.Log)
	}
	n.waitFor(t, p, reloaded+1, "STOPPING=1")
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("pyhost removed systemd's socket file %s (%v)", sock, err)
	}
}

// A reload whose new code does not import still ends with READY=1 (systemctl reload must not
// hang in "reloading"), its status line saying so, and the old worker keeps serving.
func TestSystemdReloadThatFailsEndsReloading(t *testing.T) {
	n := listenNotify(t)
	addr := freeTCPAddr(t)
	app := writeSDApp(t)
	p := socketActivate(t, addr, []string{"NOTIFY_SOCKET=" + n.Path}, app, "--processes", "1",
		"--preload")
	first := getSD(t, p, freshClient(), "http://"+addr+"/")
	ready := n.waitFor(t, p, 0, "READY=1")
	if err := os.WriteFile(app, []byte("raise ImportError('broken on purpose')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading := n.waitFor(t, p, ready+1, "RELOADING=1")
	done := n.waitFor(t, p, reloading+1, "READY=1")
	if msg := n.all()[done]; !strings.Contains(msg, "reload failed for 1 of 1 workers") {
		t.Errorf("READY=1 after a failed reload: %q, want its status to say it failed", msg)
	}
	if again := getSD(t, p, freshClient(), "http://"+addr+"/"); again.PID != first.PID {
		t.Errorf("served by %d, want the old worker %d still", again.PID, first.PID)
	}
}

// WATCHDOG_USEC set: WATCHDOG=1 every half of it, from the single process and from the
// supervisor of --processes.
func TestSystemdWatchdogPings(t *testing.T) {
	for _, mode := range [][]string{nil, {"--processes", "1"}} {
		t.Run(fmt.Sprintf("processes=%v", mode != nil), func(t *testing.T) {
			n := listenNotify(t)
			addr := freeTCPAddr(t)
			p := socketActivate(t, addr, []string{"NOTIFY_SOCKET=" + n.Path,
				"WATCHDOG_USEC=400000"}, append([]string{writeSDApp(t)}, mode...)...)
			getSD(t, p, freshClient(), "http://"+addr+"/")
			ready := n.waitFor(t, p, 0, "READY=1")
			i := n.waitFor(t, p, ready+1, "WATCHDOG=1")
			n.waitFor(t, p, i+1, "WATCHDOG=1")
			if err := p.stop(); err != nil {
				t.Errorf("exit after SIGTERM: %v\nlog:\n%s", err, p.Log)
			}
		})
	}
}

// In one process the pings stop while C code holds the GIL (a request that nothing but a new
// process can get back), and start again once it lets go.
func TestSystemdWatchdogStopsWhileTheGILIsHeld(t *testing.T) {
	n := listenNotify(t)
	addr := freeTCPAddr(t)
	p := socketActivate(t, addr, []string{"NOTIFY_SOCKET=" + n.Path, "WATCHDOG_USEC=400000"},
		"testdata/threads.py", "--threads", "2")
	if code, _ := getTextRetrying(t, p, "http://"+addr+"/sleep?ms=1"); code != 200 {
		t.Fatalf("GET /sleep: %d", code)
	}
	n.waitFor(t, p, 0, "WATCHDOG=1")
	held := make(chan int, 1)
	go func() {
		code, _ := getTextRetrying(t, p, "http://"+addr+"/hold?ms=3000")
		held <- code
	}()
	waitForLog(t, p, "no watchdog ping to systemd: an interpreter's GIL could not be taken")
	if code := <-held; code != 200 {
		t.Fatalf("GET /hold: %d", code)
	}
	after := len(n.all())
	n.waitFor(t, p, after, "WATCHDOG=1")
}

// getTextRetrying is getText, retried while systemd-socket-activate has not yet bound.
func getTextRetrying(t *testing.T, p *process, url string) (int, string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := freshClient().Get(url)
		if err == nil {
			b, err := readAll(resp)
			if err == nil {
				return resp.StatusCode, string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("GET %s: %v\nlog:\n%s", url, err, p.Log)
			return 0, ""
		}
	}
}

// The units pyhost ships pass systemd-analyze verify, with ExecStart= pointed at the binary
// the tests built.
func TestSystemdUnitsVerify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	for _, name := range []string{"pyhost.service", "pyhost.socket"} {
		b, err := os.ReadFile(repoPath("deploy", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		unit := strings.ReplaceAll(string(b), "/usr/local/bin/pyhost", pyhostBin)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tool, "verify", "--man=no", filepath.Join(dir, "pyhost.socket"),
		filepath.Join(dir, "pyhost.service"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
