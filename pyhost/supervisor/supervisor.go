package supervisor

import (
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The supervisor of --processes: it binds the listeners, starts the workers (re-executions
// of this binary that accept on the inherited sockets themselves: no proxy hop), restarts the
// ones that die and reloads them on SIGHUP. It never initialises Python, so nothing an app
// does can take it down.

const (
	// stopMargin is what a worker gets on top of --shutdown-timeout to finalise Python and
	// exit before the supervisor kills it.
	stopMargin = 5 * time.Second
	// exitAfterPipe bounds the wait for a dead worker's last status lines (a child the app
	// forked may hold the pipe open).
	exitAfterPipe = 200 * time.Millisecond
)

// slot is one of the --processes places a worker serves in: at most one serving worker and
// one starting (its replacement during a reload, or its respawn).
type slot struct {
	index        int
	group        *groupRun
	serving      *child     // ready and accepting
	pending      *child     // starting; takes over when ready
	retry        *time.Timer // a scheduled respawn after a boot failure or repeated crashes
	bootFailures int
	crashes      int // crashes in a row, each within crashQuiet of getting ready
	// routed is what the slot shares with the router (routed groups only, else nil).
	routed *routedSlot
}

// setServing makes w (or nobody) the worker serving the slot's sockets, and tells the router.
func (sl *slot) setServing(w *child) {
	sl.serving = w
	if sl.routed != nil {
		sl.routed.accepting.Store(w != nil)
	}
}

type child struct {
	slot    *slot
	pid     int
	cmd     *exec.Cmd
	state   workerState
	started time.Time
	readyAt time.Time
	failure string // why it could not start, from its status pipe
	fatal   string // the first line of the Go runtime's crash report, when it crashed
	// crash is what that line says happened.
	crash worker.CrashCause
	// killedBy says why the supervisor sent this worker SIGKILL itself ("": it did not).
	killedBy string
	control  string // the path of its control socket ("" : none)
}

type eventKind int

const (
	evReady eventKind = iota
	evFailed
	evFatal
	evRecycle
	evExited
	evRetry
	evTimer // a timer of recyclesupervisor.go: run fn
)

type event struct {
	kind   eventKind
	w      *child
	slot   *slot             // evRetry
	status worker.Event // evFailed, evFatal, evRecycle: the worker's status line
	fn     func()            // evTimer
}

type supervisor struct {
	cfg    config.Config
	args   []string // serve's arguments, given to every worker
	exe    string
	log    *slog.Logger
	files  []*os.File // the listening sockets, open for the supervisor's whole life
	groups []*groupRun
	front  *frontend // the router, when the listeners carry several groups' mounts
	slots  []*slot
	live   map[*child]bool
	events chan event
	starts chan startRequest

	stopping    bool
	unclean     int    // workers whose final stop failed (requests still running at the timeout)
	gaveUp      bool   // a slot's workers could not start --boot-attempts times: exit 3
	lastFailure string // the boot failure last logged in full, to say it once for all slots
	killed      int    // workers killed after the shutdown timeout
	announced   bool   // the "serving" line went out

	// The worker control channel (workerctl.go) and --metrics-listen (supervisor_metrics.go).
	controlDir *controlDir // nil when it could not be created: workers run without control
	directory  *workerDirectory
	metrics    *supervisorMetrics // nil without --metrics-listen
	listener   *observe.MetricsListener
	// lifeline ends every worker when the supervisor ends, whatever user they became
	// (pyhost/worker); nil if its pipe could not be made (the parent-death signal remains).
	lifeline *worker.Lifeline
}

type startRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// Run runs the supervisor until SIGTERM/SIGINT and returns the exit code: 0 when every
// worker stopped cleanly, 1 when one stopped with requests still running at the shutdown
// timeout or had to be killed (as the single-process server exits 1 then).
func Run(cfg config.Config, args []string, log *slog.Logger) int {
	exe, err := os.Executable()
	if err != nil {
		log.Error("pyhost could not find its own binary to start workers", "error", err)
		return 1
	}
	files, addrs, err := worker.BindListeners(cfg.Listen)
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	s := newSupervisor(cfg, args, exe, log)
	s.files = files
	s.groups = []*groupRun{{cfg: cfg, files: files}}
	s.log.Info("supervisor listening; starting workers", "addresses", strings.Join(addrs, ","),
		"processes", cfg.Processes, "threads", cfg.Threads)
	return s.run()
}

func newSupervisor(cfg config.Config, args []string, exe string, log *slog.Logger) *supervisor {
	s := &supervisor{cfg: cfg, args: args, exe: exe, log: log.With("supervisor", os.Getpid()),
		live: map[*child]bool{}, events: make(chan event, 16),
		starts: make(chan startRequest), directory: newWorkerDirectory()}
	if ll, err := worker.NewLifeline(); err != nil {
		s.log.Warn("workers that change user may outlive a killed supervisor", "error", err)
	} else {
		s.lifeline = ll
	}
	go s.startOnOneThread()
	return s
}

// run starts every group's workers and supervises them until SIGTERM/SIGINT.
func (s *supervisor) run() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	if err := s.startObservability(); err != nil {
		s.log.Error("pyhost could not start", "error", err)
		return 1
	}
	defer s.stopObservability()
	for _, g := range s.groups {
		g.firstSlot = len(s.slots)
		for i := 0; i < max(g.cfg.Processes, 1); i++ {
			sl := &slot{index: len(s.slots), group: g}
			if i < len(g.routed) {
				sl.routed = g.routed[i]
			}
			s.slots = append(s.slots, sl)
			s.spawn(sl)
		}
	}
	var killAt <-chan time.Time
	for !s.stopping || len(s.live) > 0 {
		select {
		case sig := <-sigs:
			switch {
			case sig == syscall.SIGUSR1:
				s.passOnSIGUSR1() // reopen.go
			case sig == syscall.SIGHUP && !s.stopping:
				s.reload()
			case sig == syscall.SIGHUP:
			case s.stopping: // a second SIGTERM/SIGINT: stop now
				s.killAll()
			default:
				s.log.Info("stopping: workers finish their requests", "signal", sig.String(),
					"timeout", s.shutdownTimeout().String())
				if s.front != nil {
					s.front.shutdown(s.shutdownTimeout())
				}
				s.stop()
				killAt = time.After(s.shutdownTimeout() + stopMargin)
			}
		case ev := <-s.events:
			s.handle(ev)
		case <-killAt:
			s.killAll()
		}
	}
	if s.gaveUp {
		s.log.Error("stopped: workers could not start (see above)", "exit_status", exitBootFailure)
		return exitBootFailure
	}
	if s.killed > 0 || s.unclean > 0 {
		s.log.Error("stopped, but not cleanly: workers had requests running past the "+
			"shutdown timeout, or had to be killed", "unclean", s.unclean, "killed", s.killed)
		return 1
	}
	s.log.Info("stopped cleanly")
	return 0
}

// startOnOneThread starts every worker from one OS thread that never exits: the kernel sends
// a child's parent-death signal when the thread that forked it ends, not the process, and Go
// ends threads at will. Locked here and never unlocked, this thread lives as long as the
// supervisor, so workers die with the supervisor and only then.
func (s *supervisor) startOnOneThread() {
	runtime.LockOSThread()
	for req := range s.starts {
		req.done <- req.cmd.Start()
	}
}

func (s *supervisor) spawn(sl *slot) {
	r, w, err := os.Pipe()
	if err != nil {
		s.log.Error("could not create a worker's status pipe", "error", err)
		s.retryLater(sl, s.bootBackoff(sl))
		return
	}
	g := sl.group
	cmd := exec.Command(s.exe, append([]string{"serve"}, s.args...)...)
	if g.cfg.DisplayName != "" {
		cmd.Args[0] = g.cfg.DisplayName // ps and top show argv[0]
	}
	files := g.files
	if g.slotFiles != nil { // routed: each slot its own socket
		files = g.slotFiles[sl.index-g.firstSlot]
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	controlPath, controlFile := s.bindControl(sl)
	if controlFile != nil {
		defer controlFile.Close() // the worker has its copy
	}
	env := g.env
	env.Slot = sl.index
	worker.Attach(cmd, env, worker.Files{Listeners: files, Status: w,
		Lifeline: s.lifeline, Control: controlFile})
	// Setpgid: a Ctrl-C in a terminal reaches the supervisor only, which stops the workers in
	// order, instead of every process at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	done := make(chan error, 1)
	s.starts <- startRequest{cmd, done}
	err = <-done
	w.Close()
	if err != nil {
		r.Close()
		if controlPath != "" {
			os.Remove(controlPath)
		}
		s.log.Error("could not start a worker process", "slot", sl.index, "error", err)
		s.retryLater(sl, s.bootBackoff(sl))
		return
	}
	wk := &child{slot: sl, pid: cmd.Process.Pid, cmd: cmd, started: time.Now(),
		control: controlPath}
	sl.pending = wk
	s.live[wk] = true
	s.workerStarted(wk)
	s.log.Info("started worker", "slot", sl.index, "pid", wk.pid, "group", g.name)
	s.watchStartup(wk)
	pipeDone := make(chan struct{})
	go s.readStatus(wk, r, pipeDone)
	go func() {
		_ = cmd.Wait() // the status is in cmd.ProcessState
		select {
		case <-pipeDone:
		case <-time.After(exitAfterPipe):
		}
		s.events <- event{kind: evExited, w: wk}
	}()
}

// readStatus turns the worker's status lines into events.
func (s *supervisor) readStatus(w *child, r *os.File, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	err := worker.ReadStatus(r, func(ev worker.Event, err error) {
		if err != nil {
			s.log.Warn("could not read a worker's status line", "pid", w.pid,
				"event", ev.Kind.String(), "error", err)
			return
		}
		switch ev.Kind {
		case worker.Ready:
			s.events <- event{kind: evReady, w: w}
		case worker.Failed:
			s.events <- event{kind: evFailed, w: w, status: ev}
		case worker.Recycle:
			s.events <- event{kind: evRecycle, w: w, status: ev}
		case worker.Metrics:
			// Stored from here: the worker's exit (evExited) waits for this reader to end.
			if s.metrics != nil {
				s.metrics.final(w, ev.Payload)
			}
		case worker.Crashed:
			s.events <- event{kind: evFatal, w: w, status: ev}
		}
	})
	if err != nil {
		s.log.Warn("could not read a worker's status pipe", "pid", w.pid, "error", err)
	}
}

func (s *supervisor) handle(ev event) {
	switch ev.kind {
	case evReady:
		s.ready(ev.w)
	case evFailed:
		ev.w.failure = ev.status.Detail
	case evFatal:
		ev.w.fatal, ev.w.crash = ev.status.Detail, ev.status.Crash
	case evRecycle:
		s.recycle(ev.w, ev.status.Reason, ev.status.Detail)
	case evExited:
		s.exited(ev.w)
	case evTimer:
		ev.fn()
	case evRetry:
		ev.slot.retry = nil
		if !s.stopping && ev.slot.pending == nil {
			s.spawn(ev.slot)
		}
	}
}

func (s *supervisor) ready(w *child) {
	if w.state != workerStarting { // told to stop while it was loading
		return
	}
	s.transition(w, workerReady)
	w.readyAt = time.Now()
	sl := w.slot
	s.log.Info("worker ready", "slot", sl.index, "pid", w.pid,
		"took", w.readyAt.Sub(w.started).Round(time.Millisecond).String())
	if sl.pending == w {
		old := sl.serving
		sl.setServing(w)
		sl.pending = nil
		sl.bootFailures, s.lastFailure = 0, ""
		if old != nil {
			s.drain(old, "replaced by a new worker")
			s.killAfterGrace(old)
		}
	}
	if !s.announced && s.allServing() {
		s.announced = true
		s.log.Info("all workers ready", "processes", len(s.slots))
	}
}

func (s *supervisor) allServing() bool {
	for _, sl := range s.slots {
		if sl.serving == nil {
			return false
		}
	}
	return true
}

// reload starts a new worker in every slot; each old one drains once its replacement is
// ready, so the listeners always have a worker accepting and no request is refused.
func (s *supervisor) reload() {
	s.log.Info("reloading: starting new workers; the old ones finish their requests once " +
		"the new ones are ready")
	for _, sl := range s.slots {
		if sl.retry != nil {
			sl.retry.Stop()
			sl.retry = nil
		}
		sl.bootFailures, sl.crashes = 0, 0
		s.lastFailure = ""
		if sl.pending != nil { // may have imported the code before it changed
			s.drain(sl.pending, "superseded by a reload")
			sl.pending = nil
		}
		if sl.serving != nil && s.metrics != nil {
			s.metrics.recycled(sl.serving, "reload")
		}
		s.spawn(sl)
	}
}

// recycle replaces a serving worker that asked for it: the replacement starts first, and the
// old worker drains once it is ready (as in a reload, for one slot).
func (s *supervisor) recycle(w *child, reason worker.RecycleReason, detail string) {
	sl := w.slot
	if s.stopping || w.state != workerReady || sl.serving != w || sl.pending != nil {
		return
	}
	s.log.Warn("recycling worker", "slot", sl.index, "pid", w.pid, "reason", detail)
	if s.metrics != nil {
		s.metrics.recycled(w, reason.String())
	}
	s.spawn(sl)
}

// stop drains every worker (SIGTERM: the graceful shutdown of each) and starts no more.
func (s *supervisor) stop() {
	s.stopping = true
	for _, sl := range s.slots {
		if sl.retry != nil {
			sl.retry.Stop()
			sl.retry = nil
		}
	}
	for w := range s.live {
		s.drain(w, "stopping")
	}
}

func (s *supervisor) drain(w *child, reason string) {
	if w.state != workerStarting && w.state != workerReady {
		return
	}
	s.transition(w, workerDraining)
	s.log.Info("stopping worker", "slot", w.slot.index, "pid", w.pid, "reason", reason)
	_ = syscall.Kill(w.pid, syscall.SIGTERM)
	if w.slot.routed != nil {
		w.slot.routed.closeIdleSoon()
	}
}

// killAll ends the workers still draining after the shutdown timeout (and its margin).
func (s *supervisor) killAll() {
	for w := range s.live {
		if w.state != workerDraining {
			continue
		}
		s.transition(w, workerStopping)
		s.killed++
		w.killedBy = "still running --shutdown-timeout + " + stopMargin.String() + " after it was told to stop"
		s.log.Error("worker still running after the shutdown timeout; killing it", "slot",
			w.slot.index, "pid", w.pid)
		_ = syscall.Kill(w.pid, syscall.SIGKILL)
	}
}

func (s *supervisor) transition(w *child, next workerState) {
	if err := w.state.to(next); err != nil {
		s.log.Error("supervisor bug", "pid", w.pid, "error", err)
		w.state = next
	}
	s.directory.setState(w, w.state)
}
