package bench

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// load is what the generator sends and for how long.
type load struct {
	addr        string
	method      string
	paths       []weightedPath
	body        []byte
	concurrency int           // connections
	rate        float64       // requests/s in open loop; 0: closed loop
	duration    time.Duration // measured time (0: until requests)
	requests    int           // measured requests (0: until duration)
	warmup      time.Duration
	timeout     time.Duration // per request
}

// weightedPath is one --path: PATH or WEIGHT:PATH (paths start with "/", so a weight before
// a colon cannot be mistaken for one).
type weightedPath struct {
	path   string
	weight int
}

func parsePath(s string) (weightedPath, error) {
	if strings.HasPrefix(s, "/") || s == "*" {
		return weightedPath{s, 1}, nil
	}
	w, p, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(w)
	if !ok || err != nil || n < 1 || n > 1000 || !strings.HasPrefix(p, "/") {
		return weightedPath{}, fmt.Errorf("--path %q: want /PATH or WEIGHT:/PATH (WEIGHT 1..1000)", s)
	}
	return weightedPath{p, n}, nil
}

// loadResult is what one measured phase saw.
type loadResult struct {
	hist      *histogram // latency of every request answered (any status)
	completed uint64     // requests answered with 1xx-3xx
	errors    map[errKind]uint64
	lastError map[errKind]string
	elapsed   time.Duration
	clientCPU time.Duration // the generator's own CPU (this whole process) during the phase
	scheduled uint64        // open loop: requests due by the end; the rest were never sent
}

func (r *loadResult) answered() uint64 { return r.hist.n }

// warm sends unmeasured load for the warm-up time (if any).
func (l *load) warm(ctx context.Context) {
	if l.warmup > 0 {
		w := *l
		w.duration, w.requests = l.warmup, 0
		w.phase(ctx, w.requestSchedule(), nil)
	}
}

// run measures (after warm, if wanted), stopping early when ctx ends. progress, if not
// nil, is called about every 250 ms with the requests answered so far.
func (l *load) run(ctx context.Context, progress func(done uint64, elapsed time.Duration)) *loadResult {
	return l.phase(ctx, l.requestSchedule(), progress)
}

func (l *load) requestSchedule() [][]byte {
	var reqs [][]byte
	for _, p := range l.paths {
		r := buildRequest(l.method, l.addr, p.path, l.body)
		for range p.weight {
			reqs = append(reqs, r)
		}
	}
	return reqs
}

type worker struct {
	hist      *histogram
	errs      map[errKind]uint64
	lastError map[errKind]string
	ok        uint64
}

func (l *load) phase(ctx context.Context, reqs [][]byte, progress func(uint64, time.Duration)) *loadResult {
	sh := &shared{ctx: ctx, start: time.Now(), limit: int64(l.requests), timeout: l.timeout, reqs: reqs}
	if l.duration > 0 {
		sh.deadline = sh.start.Add(l.duration)
	}
	if l.rate > 0 {
		sh.interval = time.Duration(float64(time.Second) / l.rate)
	}
	res := &loadResult{hist: newHistogram(), errors: map[errKind]uint64{}, lastError: map[errKind]string{}}
	var err error
	sh.sa, sh.family, err = resolve(l.addr)
	if err != nil {
		res.errors[errConnect], res.lastError[errConnect] = 1, err.Error()
		return res
	}
	cpu0 := selfCPU()
	loops := min(l.concurrency, runtime.NumCPU())
	// Each loop holds a P while it waits in epoll (see epollWait): room for the rest.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU() + loops))
	workers := make([]*worker, loops)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{hist: newHistogram(), errs: map[errKind]uint64{}, lastError: map[errKind]string{}}
		workers[i] = w
		n := l.concurrency / loops
		if i < l.concurrency%loops {
			n++
		}
		wg.Go(func() {
			if err := runLoop(sh, n, w); err != nil {
				w.errs[errIO]++
				w.lastError[errIO] = "event loop: " + err.Error()
			}
		})
	}
	stop := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					progress(sh.done.Load(), time.Since(sh.start))
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	res.elapsed, res.clientCPU = time.Since(sh.start), selfCPU()-cpu0
	for _, w := range workers {
		res.hist.merge(w.hist)
		res.completed += w.ok
		for k, v := range w.errs {
			res.errors[k] += v
			res.lastError[k] = w.lastError[k]
		}
	}
	if sh.interval > 0 {
		res.scheduled = uint64(res.elapsed / sh.interval)
		if l.requests > 0 {
			res.scheduled = min(res.scheduled, uint64(l.requests))
		}
	}
	return res
}

// selfCPU is this process's user+system CPU so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
