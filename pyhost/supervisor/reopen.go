package supervisor

import (
	"syscall"

	"github.com/pyhost/pyhost/pyhost/observe"
)

// passOnSIGUSR1 is the supervisor's SIGUSR1: reopen its own log files, then tell every worker
// to reopen theirs. A worker still starting opens the files by their (new) names anyway.
func (s *supervisor) passOnSIGUSR1() {
	observe.ReopenLogFiles(s.log)
	for w := range s.live {
		if w.state == workerStarting || w.state == workerReady || w.state == workerDraining {
			_ = syscall.Kill(w.pid, syscall.SIGUSR1)
		}
	}
}
