package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// result is one cell measured once (one round).
type result struct {
	Cell     string   `json:"cell"`
	Build    string   `json:"build"`
	Mode     string   `json:"mode"`
	Parallel int      `json:"parallelism"`
	Command  []string `json:"command"`
	Round    int      `json:"round"`
	Failed   string   `json:"failed,omitempty"`

	Requests     uint64            `json:"requests"` // answered, any status
	OK           uint64            `json:"ok"`
	Errors       map[string]uint64 `json:"errors,omitempty"`
	ErrorExample map[string]string `json:"error_examples,omitempty"`
	Seconds      float64           `json:"seconds"`
	RPS          float64           `json:"requests_per_second"`
	TargetRate   float64           `json:"target_rate,omitempty"`
	Unsent       uint64            `json:"unsent,omitempty"` // open loop: due but never sent

	LatencyMs latencies `json:"latency_ms"`

	ServerCPUPerReqUs float64 `json:"server_cpu_per_request_us"`
	ClientCPUPerReqUs float64 `json:"client_cpu_per_request_us"`
	PeakRSS           int64   `json:"peak_rss_bytes"`
	SteadyRSS         int64   `json:"steady_rss_bytes"`
	GILWaitMeanUs     float64 `json:"gil_wait_mean_us"`
	GILWaitP99Us      float64 `json:"gil_wait_p99_us"`
	GILReenabled      *bool   `json:"gil_reenabled,omitempty"`
}

type latencies struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }

// tail keeps the last bytes a server wrote, for the reason of a failed cell.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

var reErrorAttr = regexp.MustCompile(`\berror=("(?:[^"\\]|\\.)*"|\S+)`)

// reason is why the server failed, from what it wrote: the error of its last error record
// (pyhost's text log: level=ERROR ... error="..."), else its last lines.
func (t *tail) reason() string {
	t.mu.Lock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	t.mu.Unlock()
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.Contains(lines[i], "level=ERROR") {
			continue
		}
		if m := reErrorAttr.FindStringSubmatch(lines[i]); m != nil {
			if v, err := strconv.Unquote(m[1]); err == nil {
				return v
			}
			return m[1]
		}
	}
	return t.lastLines(3)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a pyhost serving the app for one cell.
type server struct {
	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
	err    error
}

func startServer(c *cell, o *options) (*server, string, string, error) {
	addr, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	maddr, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	args := append([]string{"serve", o.app, "--listen", addr, "--metrics-listen", maddr}, c.serveArgs()...)
	args = append(args, o.serveArgs...)
	if c.Mode == modeProcesses && !slices.ContainsFunc(o.serveArgs, func(a string) bool {
		return strings.HasPrefix(strings.TrimLeft(a, "-"), "boot-attempts")
	}) {
		// An app that cannot load fails the cell now, not after ten retries with back-off.
		args = append(args, "--boot-attempts", "1")
	}
	s := &server{cmd: exec.Command(c.Build.Path, args...), out: &tail{}, exited: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return nil, "", "", err
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	return s, addr, maddr, nil
}

// ready waits until /readyz answers 200, the server exits, or the time is up.
func (s *server) ready(ctx context.Context, maddr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	cl := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited (%v): %s", s.err, s.out.reason())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := cl.Get("http://" + maddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v (--ready-timeout): %s", within, s.out.reason())
		}
	}
}

// stop ends the server (SIGTERM to its process group, SIGKILL after 15 s).
func (s *server) stop() {
	pg := -s.cmd.Process.Pid
	syscall.Kill(pg, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		syscall.Kill(pg, syscall.SIGKILL)
		<-s.exited
	}
}

// runCell starts the cell's server, measures it and stops it; a failure is the result's
// Failed, never an error of the run.
func runCell(ctx context.Context, c *cell, o *options, round int, progress func(string)) *result {
	r := &result{Cell: c.name(), Build: c.Build.Label, Mode: c.Mode, Parallel: c.Parallel, Round: round}
	s, addr, maddr, err := startServer(c, o)
	if err != nil {
		r.Failed = "could not start: " + err.Error()
		return r
	}
	r.Command = s.cmd.Args
	defer s.stop()
	if err := s.ready(ctx, maddr, o.readyTimeout); err != nil {
		r.Failed = "did not start: " + err.Error()
		return r
	}
	l := o.load
	l.addr = addr
	if err := measure(ctx, r, s, &l, maddr, progress); err != nil {
		r.Failed = err.Error()
	}
	return r
}

func measure(ctx context.Context, r *result, s *server, l *load, maddr string, progress func(string)) error {
	l.warm(ctx)
	m0, err := fetchMetrics(ctx, maddr)
	if err != nil {
		return fmt.Errorf("reading its metrics: %v", err)
	}
	pid := s.cmd.Process.Pid
	cpu0, _ := treeUsage(pid)
	rss := sampleRSS(pid, 100*time.Millisecond)
	res := l.run(ctx, func(done uint64, el time.Duration) {
		progress(fmt.Sprintf("%d requests, %.0f req/s", done, float64(done)/el.Seconds()))
	})
	cpu1, _ := treeUsage(pid)
	r.PeakRSS, r.SteadyRSS = rss.end()
	m1, merr := fetchMetrics(context.WithoutCancel(ctx), maddr)
	fill(r, l, res, cpu1-cpu0)
	if merr == nil {
		mean, p99, _ := waitStats(m0.hist("pyhost_gil_wait_seconds"), m1.hist("pyhost_gil_wait_seconds"))
		r.GILWaitMeanUs, r.GILWaitP99Us = us(mean), us(p99)
		if v, ok := m1.gaugeMax("pyhost_gil_reenabled"); ok {
			re := v > 0
			r.GILReenabled = &re
		}
	}
	select {
	case <-s.exited:
		return fmt.Errorf("the server exited during the run (%v): %s", s.err, s.out.reason())
	default:
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return errors.New("interrupted")
	}
	if r.OK == 0 {
		return fmt.Errorf("no request succeeded (%s); the server's last error: %s", errorSummary(r), s.out.reason())
	}
	return nil
}

func fill(r *result, l *load, res *loadResult, serverCPU time.Duration) {
	r.Requests, r.OK = res.answered(), res.completed
	r.Seconds = res.elapsed.Seconds()
	if r.Seconds > 0 {
		r.RPS = float64(r.Requests) / r.Seconds
	}
	r.TargetRate = l.rate
	if res.scheduled > res.answered() {
		r.Unsent = res.scheduled - res.answered()
	}
	h := res.hist
	r.LatencyMs = latencies{P50: ms(h.quantile(0.5)), P90: ms(h.quantile(0.9)), P99: ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)), Max: ms(h.quantile(1)), Mean: ms(h.mean())}
	for k, v := range res.errors {
		if r.Errors == nil {
			r.Errors, r.ErrorExample = map[string]uint64{}, map[string]string{}
		}
		r.Errors[string(k)] = v
		r.ErrorExample[string(k)] = res.lastError[k]
	}
	if r.Requests > 0 {
		r.ServerCPUPerReqUs = us(serverCPU) / float64(r.Requests)
		r.ClientCPUPerReqUs = us(res.clientCPU) / float64(r.Requests)
	}
}

func errorSummary(r *result) string {
	var parts []string
	for _, k := range []errKind{errConnect, errTimeout, errIO, errStatus4, errStatus5} {
		if n := r.Errors[string(k)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d, last: %s", k, n, r.ErrorExample[string(k)]))
		}
	}
	if len(parts) == 0 {
		return "no answers"
	}
	return strings.Join(parts, "; ")
}
