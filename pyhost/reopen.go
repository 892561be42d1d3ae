package pyhost

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// SIGUSR1 reopens the log files (--access-log, --error-log), as logrotate expects: it renames
// the file, sends SIGUSR1, and pyhost goes on in a new file of the old name. The supervisor of
// --processes reopens its own and passes the signal on to every worker (supervisor.go).

// reopenOnSIGUSR1 reopens this process's log files on each SIGUSR1 until the returned stop is
// called.
func reopenOnSIGUSR1(log *slog.Logger) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				reopenLogFiles(log)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

// passOnSIGUSR1 is the supervisor's SIGUSR1: reopen its own log files, then tell every worker
// to reopen theirs. A worker still starting opens the files by their (new) names anyway.
func (s *supervisor) passOnSIGUSR1() {
	reopenLogFiles(s.log)
	for w := range s.live {
		if w.state == workerStarting || w.state == workerReady || w.state == workerDraining {
			_ = syscall.Kill(w.pid, syscall.SIGUSR1)
		}
	}
}
