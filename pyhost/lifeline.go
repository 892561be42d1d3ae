package pyhost

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

// workerLifelineEnv holds the descriptor number of the lifeline's read end in a worker.
const workerLifelineEnv = "PYHOST_WORKER_LIFELINE"

// lifeline is the supervisor's side: r goes to every worker, w stays here, never written.
type lifeline struct{ r, w *os.File }

func newLifeline() (*lifeline, error) {
	r, w, err := os.Pipe() // both ends close-on-exec: only ExtraFiles passes r on
	if err != nil {
		return nil, fmt.Errorf("creating the workers' lifeline pipe: %w", err)
	}
	return &lifeline{r: r, w: w}, nil
}

// watchSupervisor, in a worker, exits the process at once when the supervisor is gone (see
// above), and re-arms the parent-death signal that dropping privileges cleared. A worker
// started by an older supervisor, or by hand, has no lifeline: nothing to watch then.
func watchSupervisor(log *slog.Logger) {
	// Killed by the kernel the instant the supervisor's thread ends, as before the drop.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG,
		uintptr(syscall.SIGKILL), 0)
	fd, ok, err := inheritedFD(workerLifelineEnv)
	if !ok {
		if err != nil {
			log.Warn("ignoring a malformed lifeline descriptor; this worker relies on the "+
				"parent-death signal alone", "error", err)
		}
		return
	}
	// Not for the app's subprocesses; and non-blocking, so the read below waits in Go's
	// poller rather than holding an OS thread.
	syscall.CloseOnExec(fd)
	_ = syscall.SetNonblock(fd, true)
	f := os.NewFile(uintptr(fd), "supervisor-lifeline")
	ppid := os.Getppid()
	go func() {
		var b [1]byte
		_, err := f.Read(b[:]) // blocks until the supervisor's end closes
		log.Error("the supervisor is gone; this worker exits at once, as it would with it",
			"supervisor", ppid, "read", err)
		os.Exit(1)
	}()
}
