package supervisor

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/worker"
)

// Starting a worker: the command line and descriptors it gets (worker.Attach), the one OS
// thread every worker is started from, and the goroutines that turn its status pipe and its
// exit into the supervisor's events.

// exitAfterPipe bounds the wait for a dead worker's last status lines (a process the app forked
// may hold the pipe open).
const exitAfterPipe = 200 * time.Millisecond

// startRequest asks the starting thread (startOnOneThread) to start cmd.
type startRequest struct {
	cmd  *exec.Cmd
	done chan error
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
	if g.slotFiles != nil { // behind the front: each slot its own socket
		files = g.slotFiles[sl.index-g.firstSlot]
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	controlPath, controlFile := s.bindControl(sl)
	if controlFile != nil {
		defer controlFile.Close() // the worker has its copy
	}
	env := g.env
	env.Slot = sl.key().slot // the metrics' worker label, which the worker's log records carry
	if g.cfg.Reload {
		// Python checks a .pyc against its source's size and mtime in whole seconds: an edit
		// that keeps the size, saved in the same second as the import that wrote the .pyc,
		// would be served as the old code. Under --reload no bytecode is written at all.
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	}
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
		s.log.Error("could not start a worker process", sl.logAttrs("error", err)...)
		s.retryLater(sl, s.bootBackoff(sl))
		return
	}
	s.nextID++
	c := &child{slot: sl, id: s.nextID, pid: cmd.Process.Pid, cmd: cmd, started: time.Now(),
		control: controlPath}
	sl.pending = c
	s.live[c] = true
	s.childStarted(c)
	s.log.Info("started worker", c.logAttrs()...)
	s.watchStartup(c)
	pipeDone := make(chan struct{})
	go s.readStatus(c, r, pipeDone)
	go func() {
		_ = cmd.Wait() // the status is in cmd.ProcessState
		select {
		case <-pipeDone:
		case <-time.After(exitAfterPipe):
		}
		s.events <- event{kind: evExited, c: c}
	}()
}

// readStatus turns the worker's status lines into events.
func (s *supervisor) readStatus(c *child, r *os.File, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	err := worker.ReadStatus(r, func(ev worker.Event, err error) {
		if err != nil {
			s.log.Warn("could not read a worker's status line", c.logAttrs(
				"event", ev.Kind.String(), "error", err)...)
			return
		}
		switch ev.Kind {
		case worker.Ready:
			s.events <- event{kind: evReady, c: c}
		case worker.Failed:
			s.events <- event{kind: evFailed, c: c, status: ev}
		case worker.Recycle:
			s.events <- event{kind: evRecycle, c: c, status: ev}
		case worker.Metrics:
			// Stored from here: the worker's exit (evExited) waits for this reader to end.
			s.metrics.final(c.id, c.pid, ev.Payload)
		case worker.Crashed:
			s.events <- event{kind: evFatal, c: c, status: ev}
		}
	})
	if err != nil {
		s.log.Warn("could not read a worker's status pipe", c.logAttrs("error", err)...)
	}
}
