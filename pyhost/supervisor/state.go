package supervisor

import "fmt"

// workerState is where a worker process is in its life, as the supervisor sees it.
type workerState int

const (
	workerStarting workerState = iota // exec'd, loading the app; not yet counted as serving
	workerReady                       // reported ready: accepting on the inherited listeners
	workerDraining                    // sent SIGTERM: finishing its in-flight requests
	workerStopping                    // past its grace period: sent SIGKILL
	workerExited                      // reaped; its exit status is known
)

var workerStateNames = [...]string{"starting", "ready", "draining", "stopping", "exited"}

func (s workerState) String() string {
	if int(s) < len(workerStateNames) {
		return workerStateNames[s]
	}
	return fmt.Sprintf("workerState(%d)", int(s))
}

// workerTransitions lists every allowed move. A worker can die in any state (a boot failure
// exits from starting, a crash from ready); it can be drained before it ever got ready (a
// stop during its boot); only a draining worker is killed.
var workerTransitions = map[workerState][]workerState{
	workerStarting: {workerReady, workerDraining, workerExited},
	workerReady:    {workerDraining, workerExited},
	workerDraining: {workerStopping, workerExited},
	workerStopping: {workerExited},
	workerExited:   nil,
}

// to moves the state to next, or says why it may not (a supervisor bug, never a user error).
func (s *workerState) to(next workerState) error {
	for _, allowed := range workerTransitions[*s] {
		if allowed == next {
			*s = next
			return nil
		}
	}
	return fmt.Errorf("worker state: %s → %s is not an allowed transition", *s, next)
}
