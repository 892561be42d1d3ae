package worker

import (
	"fmt"
	"log/slog"
	"os"
	"syscall"
)

// A worker must never outlive its supervisor. The parent-death signal (Pdeathsig, set when the
// supervisor starts a worker) is not enough on its own: the kernel clears it whenever a
// process changes its credentials, and a worker drops to --user/--group after it starts.
// So every worker also holds the read end of one pipe whose write end only the supervisor
// has: nobody ever writes to it, and the kernel closes the write end when the supervisor
// ends, however it ends (SIGKILL included), so the workers read end-of-file then and exit.

// Lifeline is the supervisor's side: its read end goes to every worker (Files.Lifeline), its
// write end stays in the supervisor, never written. Keep it for the supervisor's whole life.
type Lifeline struct{ r, w *os.File }

// NewLifeline makes the pipe.
func NewLifeline() (*Lifeline, error) {
	r, w, err := os.Pipe() // both ends close-on-exec: only ExtraFiles passes r on
	if err != nil {
		return nil, fmt.Errorf("creating the workers' lifeline pipe: %w", err)
	}
	return &Lifeline{r: r, w: w}, nil
}

// WatchSupervisor, in a worker, exits the process at once when the supervisor is gone (see
// above), and re-arms the parent-death signal that dropping privileges cleared; call it once
// the privileges are dropped. A worker started by an older supervisor has no lifeline
// (e.Lifeline is 0): nothing to watch then.
func (e Env) WatchSupervisor(log *slog.Logger) {
	// Killed by the kernel the instant the supervisor's thread ends, as before the drop.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG,
		uintptr(syscall.SIGKILL), 0)
	if e.Lifeline == 0 {
		return
	}
	// Not for the app's subprocesses; and non-blocking, so the read below waits in Go's
	// poller rather than holding an OS thread.
	syscall.CloseOnExec(e.Lifeline)
	_ = syscall.SetNonblock(e.Lifeline, true)
	f := os.NewFile(uintptr(e.Lifeline), "supervisor-lifeline")
	ppid := os.Getppid()
	go func() {
		var b [1]byte
		_, err := f.Read(b[:]) // blocks until the supervisor's end closes
		log.Error("the supervisor is gone; this worker exits at once, as it would with it",
			"supervisor", ppid, "read", err)
		os.Exit(1)
	}()
}
