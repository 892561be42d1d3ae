package supervisor

import (
	"syscall"

	"github.com/pyhost/pyhost/pyhost/observe"
)

// passOnSIGUSR1 is the supervisor's SIGUSR1: reopen its own log files, then tell every worker
// to reopen theirs. A worker still starting opens the files by their (new) names anyway.
func (s *supervisor) passOnSIGUSR1() {
	observe.ReopenLogFiles(s.log)
	for c := range s.live {
		if c.state == workerStarting || c.state == workerReady || c.state == workerDraining {
			_ = syscall.Kill(c.pid, syscall.SIGUSR1)
		}
	}
}
