package supervisor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
)

// The worker control channel: a private HTTP server in every worker process that the
// supervisor queries (its /metrics gathers every worker's registry through it; /debug/threads
// can ask every worker what its request threads do). The supervisor binds one Unix socket per
// worker it starts, in a folder only its own user can enter, and hands the listening socket to
// the worker as an inherited file descriptor, like the public listeners (pyhost/worker passes
// it): a worker that drops privileges (--user) needs no access to that folder, and nobody
// else can connect.
//
// To add an endpoint: register it among the server's control handlers (pyhost/server); the
// supervisor then reaches it in every live worker with (*supervisor).queryWorkers(ctx,
// "/your/path"), which returns one workerReply per worker (its group, slot, pid and the body
// or the error).

// controlDir is the supervisor's folder of worker control sockets.
type controlDir struct {
	path string
	seq  int // sockets bound so far: each worker gets a fresh name
}

func newControlDir() (*controlDir, error) {
	dir, err := os.MkdirTemp("", "pyhost-control-") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("pyhost could not create the folder of its workers' control "+
			"sockets (is $TMPDIR writable?): %w", err)
	}
	return &controlDir{path: dir}, nil
}

// bind returns a fresh control socket's path and its listening file, for one worker.
func (d *controlDir) bind() (string, *os.File, error) {
	d.seq++
	path := filepath.Join(d.path, "worker-"+strconv.Itoa(d.seq)+".sock")
	f, err := bindUnix(path)
	return path, f, err
}

func (d *controlDir) remove() { os.RemoveAll(d.path) }

// controlWorker is what the supervisor's HTTP handlers may know of a live worker: they run
// on their own goroutines, while the worker structs belong to the supervisor's loop.
type controlWorker struct {
	group  string // the process group's label value
	slot   int    // the slot's index within its group
	pid    int
	socket string
	state  workerState
	served bool // it got ready once: its control socket answers from then on
}

// workerDirectory is the supervisor's list of live workers for the control queries, kept up
// to date by the supervisor's loop (at spawn, every state change and exit).
type workerDirectory struct {
	mu      sync.Mutex
	workers map[int]*controlWorker // by child id
	// groups are the process groups' label values, in order, for the ready check.
	groups []string
}

func newWorkerDirectory() *workerDirectory {
	return &workerDirectory{workers: map[int]*controlWorker{}}
}

func (d *workerDirectory) add(id int, cw controlWorker) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.workers[id] = &cw
}

func (d *workerDirectory) setState(id int, st workerState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cw := d.workers[id]; cw != nil {
		cw.state = st
		cw.served = cw.served || st == workerReady
	}
}

func (d *workerDirectory) remove(id int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.workers, id)
}

// snapshot lists the live workers that answer on a control socket: ready, or draining after
// they were. A worker serves its control socket only once its apps have loaded; before, a
// connection would wait in the backlog, holding up the query.
func (d *workerDirectory) snapshot() map[int]controlWorker {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[int]controlWorker, len(d.workers))
	for id, cw := range d.workers {
		if cw.socket != "" && cw.served && (cw.state == workerReady || cw.state == workerDraining) {
			out[id] = *cw
		}
	}
	return out
}

// unready returns the first process group that has no worker accepting (ready), or "".
func (d *workerDirectory) unready() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	accepting := map[string]bool{}
	for _, cw := range d.workers {
		if cw.state == workerReady {
			accepting[cw.group] = true
		}
	}
	for _, g := range d.groups {
		if !accepting[g] {
			return g, true
		}
	}
	return "", false
}

// workerReply is one worker's answer to a control query.
type workerReply struct {
	id     int // the child's
	Group  string
	Slot   int
	PID    int
	Status int    // the HTTP status (0 when the worker could not be reached)
	Body   []byte // at most maxControlReply bytes
	Err    error
}

// maxControlReply bounds what the supervisor reads of one worker's answer.
const maxControlReply = 64 << 20

// queryWorkers sends GET path to every live worker at once and returns their answers when
// all have answered or ctx ends (an unanswered worker's reply then carries ctx's error).
func (s *supervisor) queryWorkers(ctx context.Context, path string) []workerReply {
	workers := s.directory.snapshot()
	replies := make([]workerReply, 0, len(workers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, cw := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := workerReply{id: id, Group: cw.group, Slot: cw.slot, PID: cw.pid}
			r.Status, r.Body, r.Err = getControl(ctx, cw.socket, path)
			mu.Lock()
			replies = append(replies, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return replies
}

// getControl fetches path from the control socket at socket.
func getControl(ctx context.Context, socket, path string) (int, []byte, error) {
	var d net.Dialer
	tr := &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://worker"+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxControlReply))
	return resp.StatusCode, body, err
}

// startObservability creates the folder of the control sockets and, with --metrics-listen,
// binds the metrics listener; the supervisor calls it before it starts any worker.
func (s *supervisor) startObservability() error {
	for _, g := range s.groups {
		s.directory.groups = append(s.directory.groups, config.ProcessGroupName(g.cfg.ProcessGroup))
	}
	dir, err := newControlDir()
	if err != nil {
		// Workers serve without it; only what needs them (/metrics) goes without.
		s.log.Warn("workers start without a control channel", "error", err)
	}
	s.controlDir = dir
	if s.cfg.MetricsListen == "" {
		return nil
	}
	s.listener, err = observe.ListenMetrics(s.cfg.MetricsListen, s.log)
	if err != nil {
		return err
	}
	s.metrics = newSupervisorMetrics(s)
	mux := http.NewServeMux()
	s.metricsHandlers(mux)
	s.listener.Serve(mux, func() (bool, string) {
		if g, unready := s.directory.unready(); unready {
			return false, "process group " + strconv.Quote(g) + " has no worker accepting"
		}
		return true, ""
	})
	return nil
}

// metricsHandlers registers what the supervisor serves on --metrics-listen besides /healthz
// and /readyz; an endpoint that needs every worker asks them with queryWorkers.
func (s *supervisor) metricsHandlers(mux *http.ServeMux) {
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("GET /debug/threads", s.threadsHandler())
}

func (s *supervisor) stopObservability() {
	if s.listener != nil {
		s.listener.Close()
	}
	if s.controlDir != nil {
		s.controlDir.remove()
	}
}

// bindControl binds the control socket of the next worker of sl ("" and nil when there is no
// control channel).
func (s *supervisor) bindControl(sl *slot) (string, *os.File) {
	if s.controlDir == nil {
		return "", nil
	}
	path, f, err := s.controlDir.bind()
	if err != nil {
		s.log.Warn("a worker starts without a control channel: its metrics will be missing",
			sl.logAttrs("error", err)...)
		return "", nil
	}
	return path, f
}

// childStarted and childExited keep the directory and the metrics up to date.
func (s *supervisor) childStarted(c *child) {
	k := c.slot.key()
	s.directory.add(c.id, controlWorker{group: k.group, slot: k.slot, pid: c.pid,
		socket: c.control, state: c.state})
	s.metrics.started(c.id, k)
}

func (s *supervisor) childExited(c *child, reason string) {
	s.directory.remove(c.id)
	if c.control != "" {
		os.Remove(c.control)
	}
	s.metrics.exited(c.id, reason)
}
