package supervisor

import "testing"

func TestWorkerStateTransitions(t *testing.T) {
	all := []workerState{workerStarting, workerReady, workerDraining, workerStopping, workerExited}
	allowed := map[[2]workerState]bool{
		{workerStarting, workerReady}: true, {workerStarting, workerDraining}: true,
		{workerStarting, workerExited}: true, {workerReady, workerDraining}: true,
		{workerReady, workerExited}: true, {workerDraining, workerStopping}: true,
		{workerDraining, workerExited}: true, {workerStopping, workerExited}: true,
	}
	for _, from := range all {
		for _, to := range all {
			s := from
			err := s.to(to)
			if want := allowed[[2]workerState{from, to}]; want != (err == nil) {
				t.Errorf("%s → %s: err=%v, want allowed=%v", from, to, err, want)
			}
			if err != nil && s != from {
				t.Errorf("%s → %s refused but the state changed to %s", from, to, s)
			}
			if err == nil && s != to {
				t.Errorf("%s → %s allowed but the state is %s", from, to, s)
			}
		}
	}
	// A whole life: boot, serve, drain on SIGTERM, exit.
	var s workerState
	for _, next := range []workerState{workerReady, workerDraining, workerExited} {
		if err := s.to(next); err != nil {
			t.Fatal(err)
		}
	}
	if got := workerState(9).String(); got != "workerState(9)" {
		t.Errorf("unknown state prints as %q", got)
	}
}
