package supervisor

import (
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The supervisor's state and its loop: one goroutine (run) owns the slots and children and
// handles every signal, status line, exit and timer as an event, in order.

// stopMargin is what a worker gets on top of --shutdown-timeout to finalise Python and exit
// before the supervisor kills it.
const stopMargin = 5 * time.Second

// slot is one of the --processes places a worker serves in: at most one serving worker and
// one starting (its replacement during a reload, or its respawn).
type slot struct {
	index        int
	group        *groupRun
	serving      *child      // ready and accepting
	pending      *child      // starting; takes over when ready
	retry        *time.Timer // a scheduled respawn after a boot failure or repeated crashes
	bootFailures int
	crashes      int // crashes in a row, each within crashQuiet of getting ready
	// front is what the slot shares with the front (groups behind it only, else nil).
	front *frontSlot
}

// key is the slot's identity in metrics and control queries: its group and its index there.
func (sl *slot) key() slotKey {
	g := sl.group
	return slotKey{group: config.ProcessGroupName(g.cfg.ProcessGroup), slot: sl.index - g.firstSlot}
}

// logAttrs names the slot in log records as its metrics are labelled (worker: its index in
// its process group; process_group), then more.
func (sl *slot) logAttrs(more ...any) []any {
	k := sl.key()
	return append([]any{"worker", k.slot, "process_group", k.group}, more...)
}

// logAttrs names the child in log records: worker, process_group and pid (the worker's own
// records carry the same three), then more.
func (c *child) logAttrs(more ...any) []any {
	k := c.slot.key()
	return append([]any{"worker", k.slot, "process_group", k.group, "pid", c.pid}, more...)
}

// setServing makes c (or nobody) the worker serving the slot's sockets, and tells the front.
func (sl *slot) setServing(c *child) {
	sl.serving = c
	if sl.front != nil {
		sl.front.accepting.Store(c != nil)
	}
}

// child is one worker process the supervisor started, from its start to its reaping.
type child struct {
	slot *slot
	// id numbers the supervisor's children from 1, never reused (a pid may be, once reaped):
	// the metrics and the control directory know a child by it.
	id      int
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
	evTimer // a timer of recycle.go: run fn
)

type event struct {
	kind   eventKind
	c      *child
	slot   *slot        // evRetry
	status worker.Event // evFailed, evFatal, evRecycle: the worker's status line
	fn     func()       // evTimer
}

type supervisor struct {
	cfg    config.Config
	args   []string // serve's arguments, given to every worker
	exe    string
	log    *slog.Logger
	groups []*groupRun
	front  *front // when the listeners carry several groups' mounts, else nil
	slots  []*slot
	live   map[*child]bool
	nextID int // the last child's id
	events chan event
	starts chan startRequest

	stopping    bool
	unclean     int    // workers whose final stop failed (requests still running at the timeout)
	gaveUp      bool   // a slot's workers could not start --boot-attempts times: exit 3
	lastFailure string // the boot failure last logged in full, to say it once for all slots
	killed      int    // workers killed after the shutdown timeout
	announced   bool   // the "serving" line went out

	// The worker control channel (control.go) and --metrics-listen (metrics.go).
	controlDir *controlDir // nil when it could not be created: workers run without control
	directory  *workerDirectory
	metrics    *supervisorMetrics // nil without --metrics-listen: its methods do nothing
	listener   *observe.MetricsListener
	// lifeline ends every worker when the supervisor ends, whatever user they became
	// (pyhost/worker); nil if its pipe could not be made (the parent-death signal remains).
	lifeline *worker.Lifeline
	// watch sees the app's files change, for the groups run with --reload (devreload.go).
	watch *watcher
	// The router's own answers (routerobserve.go): its metrics (nil without
	// --metrics-listen) and access log (nil without one).
	routerMetrics *observe.Metrics
	routerLog     *observe.AccessLog
	// sd is what it tells systemd (systemd.go).
	sd sdState
}

// Run binds cfg.Listen, runs cfg.Processes workers (serve with args, re-executed) that accept
// on those sockets themselves, and supervises them until SIGTERM/SIGINT. It returns the exit
// status: 0 when every worker stopped cleanly; 1 when one stopped with requests still running
// at the shutdown timeout or had to be killed (as the single-process server exits 1 then), or
// when the supervisor could not start; exitBootFailure (3) when it gave up on workers that
// could not start (--boot-attempts).
func Run(cfg config.Config, args []string, log *slog.Logger) int {
	exe, err := os.Executable()
	if err != nil {
		log.Error("pyhost could not find its own binary to start workers", "error", err)
		return 1
	}
	// The sockets of a systemd socket unit replace --listen (systemd.go).
	files, addrs, err := activatedFiles()
	owned := files == nil // the supervisor made the socket files: it removes them
	so, soErr := socketOptions(cfg)
	if err == nil && soErr != nil {
		err = soErr
	}
	if err == nil && files == nil {
		files, addrs, err = worker.BindListeners(cfg.Listen, so)
	}
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if owned {
			worker.RemoveSocketFiles(addrs) // not on a reload: the supervisor keeps the sockets
		}
	}()
	s := newSupervisor(cfg, args, exe, log)
	s.groups = []*groupRun{{cfg: cfg, files: files}}
	s.log.Info("supervisor listening; starting workers", "addresses", strings.Join(addrs, ","),
		"processes", max(cfg.Processes, 1), "threads", cfg.Threads, "systemd_sockets", !owned)
	s.startSystemd(addrs)
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
	defer s.stopSystemd()
	changes := s.startWatching()
	defer s.stopWatching()
	defer s.routerLog.Flush() // the router has stopped by the time run returns
	for _, g := range s.groups {
		g.firstSlot = len(s.slots)
		for i := 0; i < max(g.cfg.Processes, 1); i++ {
			sl := &slot{index: len(s.slots), group: g}
			if g.front != nil {
				sl.front = g.front.slots[i]
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
				s.sdStopping()
				s.front.shutdown(s.shutdownTimeout())
				s.stop()
				killAt = time.After(s.shutdownTimeout() + stopMargin)
			}
		case ev := <-s.events:
			s.handle(ev)
			s.sdAfterEvent()
		case <-s.watchdogC():
			s.sdSend(s.sd.notify.Watchdog()) // the loop turns: see systemd.go
		case paths := <-changes:
			if !s.stopping {
				s.sourceChanged(paths)
			}
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

func (s *supervisor) handle(ev event) {
	switch ev.kind {
	case evReady:
		s.ready(ev.c)
	case evFailed:
		ev.c.failure = ev.status.Detail
	case evFatal:
		ev.c.fatal, ev.c.crash = ev.status.Detail, ev.status.Crash
	case evRecycle:
		s.recycle(ev.c, ev.status.Reason, ev.status.Detail)
	case evExited:
		s.exited(ev.c)
	case evTimer:
		ev.fn()
	case evRetry:
		ev.slot.retry = nil
		if !s.stopping && ev.slot.pending == nil {
			s.spawn(ev.slot)
		}
	}
}

func (s *supervisor) ready(c *child) {
	if c.state != workerStarting { // told to stop while it was loading
		return
	}
	s.transition(c, workerReady)
	c.readyAt = time.Now()
	sl := c.slot
	s.log.Info("worker ready", c.logAttrs(
		"took", c.readyAt.Sub(c.started).Round(time.Millisecond).String())...)
	if sl.pending == c {
		old := sl.serving
		sl.setServing(c)
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
		s.sdReady()
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
	s.sdReloading()
	s.reloadSlots(s.slots)
}

// reloadSlots is reload for some slots (--reload's: those of the groups that asked for it).
func (s *supervisor) reloadSlots(slots []*slot) {
	s.log.Info("reloading: starting new workers; the old ones finish their requests once " +
		"the new ones are ready")
	for _, sl := range slots {
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
		if sl.serving != nil {
			s.metrics.recycled(sl.key(), "reload")
		}
		s.spawn(sl)
	}
}

// recycle replaces a serving worker that asked for it: the replacement starts first, and the
// old worker drains once it is ready (as in a reload, for one slot).
func (s *supervisor) recycle(c *child, reason worker.RecycleReason, detail string) {
	sl := c.slot
	if s.stopping || c.state != workerReady || sl.serving != c || sl.pending != nil {
		return
	}
	s.log.Warn("recycling worker", c.logAttrs("reason", detail)...)
	s.metrics.recycled(sl.key(), reason.String())
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
	for c := range s.live {
		s.drain(c, "stopping")
	}
}

func (s *supervisor) drain(c *child, reason string) {
	if c.state != workerStarting && c.state != workerReady {
		return
	}
	s.transition(c, workerDraining)
	s.log.Info("stopping worker", c.logAttrs("reason", reason)...)
	_ = syscall.Kill(c.pid, syscall.SIGTERM)
	if c.slot.front != nil {
		c.slot.front.closeIdleSoon()
	}
}

// killAll ends the workers still draining after the shutdown timeout (and its margin).
func (s *supervisor) killAll() {
	for c := range s.live {
		if c.state != workerDraining {
			continue
		}
		s.transition(c, workerStopping)
		s.killed++
		c.killedBy = "still running --shutdown-timeout + " + stopMargin.String() + " after it was told to stop"
		s.log.Error("worker still running after the shutdown timeout; killing it", c.logAttrs()...)
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
	}
}

func (s *supervisor) transition(c *child, next workerState) {
	if err := c.state.to(next); err != nil {
		s.log.Error("supervisor bug", "pid", c.pid, "error", err)
		c.state = next
	}
	s.directory.setState(c.id, c.state)
}
