// soakload is the load generator and memory watch of scripts/bench/soak.sh: it runs the
// mix of testdata/soak/soak_app.py (a template page, JSON, a streamed response, a client
// leaving mid-stream, an exception answered 500, a 64 KiB POST, a file through
// wsgi.file_wrapper) over keep-alive connections to a loopback server for a bounded time,
// samples the resident memory of the server's whole process tree every second, and reports
// it per phase with the growth per 100k requests over the second half of the run.
//
// With -fail-above it is a leak check: exit status 3 when the growth over the second half
// (least squares of RSS against requests served) is above the limit and adds up to more than
// -fail-floor MB; 1 for anything else
// that went wrong (wrong answers, a server that died, too few requests to judge).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const mb = 1e6 // growth is reported in MB (10⁶ bytes), as the issue states its target

func main() {
	base := flag.String("url", "", "the server: http://127.0.0.1:PORT (loopback only)")
	pid := flag.Int("pid", 0, "pid of the server's root process (supervisor, master or only process)")
	duration := flag.Duration("duration", 10*time.Minute, "measured run")
	warmup := flag.Duration("warmup", 30*time.Second, "unmeasured load before the run (imports, caches, pools)")
	conns := flag.Int("connections", 16, "concurrent keep-alive clients")
	phases := flag.Int("phases", 10, "the run is reported in this many equal phases")
	only := flag.String("path", "mix", "mix, or one path alone: "+pathNames())
	failAbove := flag.Float64("fail-above", 0, "exit 3 when RSS grows more than this many MB per 100k requests over the second half (0: report only)")
	floor := flag.Float64("fail-floor", 3, "with -fail-above: growth of at most this many MB over the second half never fails (one step of an allocator's arena is about 1 MB)")
	maxErrRate := flag.Float64("max-error-rate", 0.001, "exit 1 when more than this fraction of answers are wrong")
	label := flag.String("label", "server", "name of the server in the report")
	flag.Parse()
	if err := checkArgs(*base, *pid, *duration, *conns, *phases); err != nil {
		fmt.Fprintln(os.Stderr, "soakload:", err)
		os.Exit(2)
	}
	mix, err := pickPaths(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakload:", err)
		os.Exit(2)
	}
	r := &run{base: strings.TrimRight(*base, "/"), pid: *pid, mix: mix, conns: *conns}
	rep, err := r.soak(*warmup, *duration)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakload:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout, *label, *only, *phases)
	os.Exit(rep.verdict(os.Stderr, *failAbove, *floor, *maxErrRate))
}

func checkArgs(base string, pid int, duration time.Duration, conns, phases int) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://127.0.0.1:PORT", base)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: soakload loads loopback servers only", base)
	}
	if pid <= 0 {
		return errors.New("-pid: the server's root pid is needed to watch its memory")
	}
	if duration < 2*time.Second || conns < 1 || phases < 2 {
		return errors.New("-duration must be at least 2s, -connections at least 1, -phases at least 2")
	}
	return nil
}

func pickPaths(only string) ([]path, error) {
	if only == "mix" {
		return paths, nil
	}
	for _, p := range paths {
		if p.name == only {
			p.weight = 1
			return []path{p}, nil
		}
	}
	return nil, fmt.Errorf("-path %q: want mix or one of %s", only, pathNames())
}

// run is one soak: clients, their counts and the first wrong answers.
type run struct {
	base  string
	pid   int
	mix   []path
	conns int

	served   atomic.Int64   // answers, right or wrong, since the start
	perPath  []atomic.Int64 // answers per path of mix
	wrong    []atomic.Int64 // wrong answers per path of mix
	mu       sync.Mutex
	firstBad []string // the first few wrong answers, to show
}

type sample struct {
	at       time.Duration
	requests int64 // served since the end of the warm-up
	rss      int64
	procs    int
}

type report struct {
	samples  []sample
	duration time.Duration
	conns    int
	mix      []path
	perPath  []int64 // answers per path during the measured run
	wrong    []int64
	firstBad []string
}

func (r *run) soak(warmup, duration time.Duration) (*report, error) {
	if _, _, err := treeRSS(r.pid); err != nil {
		return nil, err
	}
	r.perPath = make([]atomic.Int64, len(r.mix))
	r.wrong = make([]atomic.Int64, len(r.mix))
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: r.conns, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for i := 0; i < r.conns; i++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r.client(ctx, client, rand.New(rand.NewSource(seed)))
		}(int64(i + 1))
	}
	defer func() {
		stop()
		wg.Wait() // bounded: each request has client.Timeout
		tr.CloseIdleConnections()
	}()

	time.Sleep(warmup)
	startServed := r.served.Load()
	startPath := make([]int64, len(r.mix))
	startWrong := make([]int64, len(r.mix))
	for i := range r.mix {
		startPath[i], startWrong[i] = r.perPath[i].Load(), r.wrong[i].Load()
	}
	rep := &report{duration: duration, conns: r.conns, mix: r.mix}
	start := time.Now()
	take := func() error {
		reqs := r.served.Load() - startServed
		rss, procs, err := treeRSS(r.pid)
		if err != nil {
			return err
		}
		rep.samples = append(rep.samples, sample{time.Since(start), reqs, rss, procs})
		return nil
	}
	if err := take(); err != nil {
		return nil, err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.NewTimer(duration)
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-end.C:
			done = true
		}
		if err := take(); err != nil {
			return nil, err
		}
	}
	for i := range r.mix {
		rep.perPath = append(rep.perPath, r.perPath[i].Load()-startPath[i])
		rep.wrong = append(rep.wrong, r.wrong[i].Load()-startWrong[i])
	}
	r.mu.Lock()
	rep.firstBad = append(rep.firstBad, r.firstBad...)
	r.mu.Unlock()
	return rep, nil
}

// client asks for the mix's paths, chosen at random by weight, one after the other on one
// keep-alive connection (a new one after an abandoned stream), until ctx ends.
func (r *run) client(ctx context.Context, c *http.Client, rnd *rand.Rand) {
	total := 0
	for _, p := range r.mix {
		total += p.weight
	}
	body := make([]byte, uploadSize)
	rnd.Read(body)
	for ctx.Err() == nil {
		n, i := rnd.Intn(total), 0
		for n >= r.mix[i].weight {
			n -= r.mix[i].weight
			i++
		}
		err := r.mix[i].do(c, r.base, body)
		if ctx.Err() != nil {
			return // the run ended during this request: not counted
		}
		r.served.Add(1)
		r.perPath[i].Add(1)
		if err != nil {
			r.wrong[i].Add(1)
			r.mu.Lock()
			if len(r.firstBad) < 5 {
				r.firstBad = append(r.firstBad, err.Error())
			}
			r.mu.Unlock()
			time.Sleep(10 * time.Millisecond) // a dead server is not hammered in a tight loop
		}
	}
}
