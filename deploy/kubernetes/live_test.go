package kubernetes

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pyhost/pyhost/pyhost/supervisor"
)

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pod is the real pyhost run as the Deployment runs it: the ConfigMap's config, the
// container's environment, TMPDIR an empty folder of its own (the emptyDir). Only what a
// test machine must change is overridden: the app folder, loopback addresses, and
// --allow-root when the tests run as root.
type pod struct {
	cmd            *exec.Cmd
	app, metrics   string // http://127.0.0.1:PORT
	started        chan string
	exited         chan error
	tmpdir, appDir string
	mu             sync.Mutex
	stderrTail     strings.Builder
}

func startPod(t *testing.T, m *manifests, script string, tmpdir string) *pod {
	t.Helper()
	dir := t.TempDir()
	cfgPath := configFile(t, m, dir)
	p := &pod{appDir: filepath.Join(dir, "app"), tmpdir: tmpdir, started: make(chan string, 16),
		exited: make(chan error, 1)}
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.appDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.appDir, "app.py"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	httpPort, metricsPort := freePort(t), freePort(t)
	p.app, p.metrics = "http://127.0.0.1:"+strconv.Itoa(httpPort), "http://127.0.0.1:"+strconv.Itoa(metricsPort)
	c := m.container(t)
	args := append(append([]string{}, c.Args...), "--chdir", p.appDir,
		"--listen", "127.0.0.1:"+strconv.Itoa(httpPort), "--metrics-listen", "127.0.0.1:"+strconv.Itoa(metricsPort))
	args = replaceArg(args, "--config", cfgPath)
	if os.Geteuid() == 0 {
		args = append(args, "--allow-root")
	}
	p.cmd = exec.Command(pyhostBin, args...)
	p.cmd.Env = os.Environ()
	for _, e := range c.Env {
		v := e.Value
		if e.Name == "TMPDIR" {
			v = tmpdir
		}
		p.cmd.Env = append(p.cmd.Env, e.Name+"="+v)
	}
	p.cmd.Stdout = io.Discard
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.stderrTail.Len() < 64<<10 {
				p.stderrTail.WriteString(line + "\n")
			}
			p.mu.Unlock()
			if _, id, ok := strings.Cut(line, "slow.py: started id="); ok {
				p.started <- strings.Fields(strings.Trim(id, `"\n`))[0]
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

// log is what pyhost wrote on stderr so far (its first 64 KiB).
func (p *pod) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderrTail.String()
}

// replaceArg sets the value after flag in args.
func replaceArg(args []string, flag, value string) []string {
	for i := range args[:len(args)-1] {
		if args[i] == flag {
			args[i+1] = value
		}
	}
	return args
}

// get is one request: its status (0 when refused) and body.
func get(url string) (int, string) {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// probeURL is the URL the kubelet would ask for this probe, on the test's metrics address.
func (p *pod) probeURL(probe *corev1.Probe) string { return p.metrics + probe.HTTPGet.Path }

// TestPyhostServesWhatTheManifestsExpect runs the real binary as the Deployment does and
// asks it what the kubelet and Prometheus ask: the startup probe turns 200, the liveness and
// readiness probes answer 200, the scrape path carries pyhost's metrics; then the stop signal
// the kubelet sends (the container's stopSignal, or the image's SIGTERM) makes the readiness
// probe fail while a request in flight still gets its answer, and pyhost exits 0.
func TestPyhostServesWhatTheManifestsExpect(t *testing.T) {
	m := load(t, ".")
	_, cfg := pyhostConfig(t, m)
	c := m.container(t)
	p := startPod(t, m, "slow.py", t.TempDir())

	window := time.Duration(c.StartupProbe.PeriodSeconds*c.StartupProbe.FailureThreshold) * time.Second
	for deadline := time.Now().Add(window); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := get(p.probeURL(c.StartupProbe)); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("startup probe %s: no 200 within the probe's %v\n%s", c.StartupProbe.HTTPGet.Path, window, p.log())
		}
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if code, body := get(p.probeURL(probe)); code != http.StatusOK {
			t.Errorf("%s probe %s: %d %s, want 200", name, probe.HTTPGet.Path, code, body)
		}
	}
	if dirs, _ := filepath.Glob(filepath.Join(p.tmpdir, "pyhost-control-*")); len(dirs) == 0 || strings.Contains(p.log(), "$TMPDIR writable") {
		t.Errorf("pyhost made no control sockets in TMPDIR %s (the emptyDir)\n%s", p.tmpdir, p.log())
	}
	if code, body := get(p.app + "/?ms=0"); code != http.StatusOK {
		t.Fatalf("GET /: %d %s", code, body)
	}
	for what, path := range map[string]string{"prometheus.io/path annotation": m.deployment.Spec.Template.Annotations["prometheus.io/path"],
		"ServiceMonitor path": m.serviceMonitor.Spec.Endpoints[0].Path} {
		if code, body := get(p.metrics + path); code != http.StatusOK || !strings.Contains(body, "pyhost_requests_total{") {
			t.Errorf("%s %s: %d, want 200 and pyhost's metrics; got %.200q", what, path, code, body)
		}
	}

	// A request in flight when the pod is told to stop.
	answer := make(chan string, 1)
	go func() {
		code, body := get(p.app + "/?ms=3000&id=drain")
		answer <- strconv.Itoa(code) + " " + body
	}()
	select {
	case <-p.started:
	case <-time.After(30 * time.Second):
		t.Fatalf("the slow request never reached the app\n%s", p.log())
	}
	sig := syscall.SIGTERM // the image's STOPSIGNAL, and the runtime's default
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		sig = stopSignal(t, *c.Lifecycle.StopSignal)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	notReady := false
	for deadline := time.Now().Add(cfg.ShutdownTimeout); !notReady && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		code, _ := get(p.probeURL(c.ReadinessProbe))
		notReady = code == http.StatusServiceUnavailable
		if code, body := get(p.probeURL(c.LivenessProbe)); notReady && code != http.StatusOK {
			t.Errorf("liveness probe %s during the drain: %d %s, want 200 (a failing liveness probe restarts the container mid-drain)", c.LivenessProbe.HTTPGet.Path, code, body)
		}
		select {
		case a := <-answer:
			answer <- a
			deadline = time.Now() // the drain is over: the probe had its chance
		default:
		}
	}
	if !notReady {
		t.Errorf("readiness probe %s never answered 503 while pyhost drained after %v", c.ReadinessProbe.HTTPGet.Path, sig)
	}
	if a := <-answer; a != "200 slept 3000 id=drain" {
		t.Errorf("the request in flight at %v got %q, want 200 and its body", sig, a)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("pyhost after %v: %v, want exit 0 (a clean drain)\n%s", sig, err, p.log())
		}
	case <-time.After(cfg.ShutdownTimeout + supervisor.StopMargin):
		t.Errorf("pyhost still running %v after %v\n%s", cfg.ShutdownTimeout+supervisor.StopMargin, sig, p.log())
	}
}

// stopSignal maps a container's stopSignal (Kubernetes spells them SIGTERM, ...) to the signal.
func stopSignal(t *testing.T, s corev1.Signal) syscall.Signal {
	t.Helper()
	sig, ok := map[corev1.Signal]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT,
		"SIGQUIT": syscall.SIGQUIT, "SIGHUP": syscall.SIGHUP, "SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1}[s]
	if !ok {
		t.Fatalf("deployment.yaml stopSignal %s: not a signal this test knows", s)
	}
	return sig
}

// TestPyhostNeedsTheWritableTmp: the Deployment's only writable place is the emptyDir at
// TMPDIR. The real supervisor makes its workers' control sockets there (and workers their crash
// reports, spilled request bodies and responses); without it the workers serve, but /metrics
// cannot ask them for their series, and pyhost says so.
func TestPyhostNeedsTheWritableTmp(t *testing.T) {
	m := load(t, ".")
	unusable := filepath.Join(t.TempDir(), "missing")
	p := startPod(t, m, "hello.py", unusable)
	defer p.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.log(), "is $TMPDIR writable?"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pyhost with TMPDIR %s unusable did not say so: the manifests' reason for the /tmp emptyDir is stale\n%s", unusable, p.log())
		}
	}
}
