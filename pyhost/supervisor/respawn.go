package supervisor

import (
	"time"

	"github.com/pyhost/pyhost/pyhost/worker"
)

// What the supervisor does when a worker exits: a stop it asked for is logged; a boot failure
// (dead before ready: the app cannot load) backs off; a crash (dead after ready) is replaced
// at once, backing off only when it keeps happening.

const (
	bootBackoffFirst = time.Second      // the first retry after a worker failed to start
	bootBackoffMax   = 30 * time.Second // the longest wait between retries
	// A worker that crashes again within this time of becoming ready is crashing repeatedly:
	// its slot backs off like a boot failure instead of respawning at once.
	crashQuiet = 10 * time.Second
)

// exited handles a reaped worker according to the state it died in.
func (s *supervisor) exited(c *child) {
	prev := c.state
	s.transition(c, workerExited)
	delete(s.live, c)
	s.childExited(c, exitReason(prev, c.cmd.ProcessState))
	sl := c.slot
	if sl.serving == c {
		sl.setServing(nil)
	}
	if sl.pending == c {
		sl.pending = nil
	}
	status, hint := describeExit(c.cmd.ProcessState)
	if c.killedBy != "" && killedBySIGKILL(c.cmd.ProcessState) {
		// describeExit can only guess at "from outside"; the supervisor knows it sent it.
		hint = "killed by the supervisor: " + c.killedBy
	}
	attrs := c.logAttrs("status", status)
	if c.fatal != "" {
		attrs = append(attrs, "crash", c.fatal)
		if hint == "" && c.crash == worker.CrashSignal {
			hint = crashHint(c.pid, c.started)
		}
	}
	if hint != "" {
		attrs = append(attrs, "hint", hint)
	}
	switch {
	case prev == workerDraining || prev == workerStopping:
		if c.cmd.ProcessState.Success() || stoppedBySIGTERM(c.cmd.ProcessState) {
			s.log.Info("worker stopped", attrs...)
		} else {
			msg := "worker stopped with an error (its log says why)"
			if c.killedBy != "" {
				msg = "worker stopped: the supervisor killed it"
			}
			s.log.Warn(msg, attrs...)
			// (one stopped before it was ready had no requests: its app failed to load)
			if s.stopping && !c.readyAt.IsZero() {
				s.unclean++
			}
		}
	case s.stopping:
		s.log.Info("worker exited", attrs...)
	case prev == workerStarting:
		s.bootFailed(c, attrs)
	default:
		s.crashed(c, attrs)
	}
}

// bootFailed handles a worker that died before it was ready: the app cannot load (or the
// worker cannot start at all). Retrying at once would fail the same way, so the slot backs
// off, and the failure is logged in full once, not on every retry.
func (s *supervisor) bootFailed(c *child, attrs []any) {
	sl := c.slot
	if sl.group.cfg.Reload {
		s.bootFailedReloading(c, attrs)
		return
	}
	sl.bootFailures++
	if limit := sl.group.cfg.Recycle.BootAttempts; limit > 0 && sl.bootFailures >= limit {
		s.giveUp(c, append(attrs, "attempts", sl.bootFailures, "error", c.failure))
		return
	}
	delay := s.bootBackoff(sl)
	attrs = append(attrs, "attempt", sl.bootFailures, "retry_in", delay.String())
	if c.failure != "" && c.failure != s.lastFailure {
		s.lastFailure = c.failure
		msg := "worker could not start; fix the app (its traceback is above) and send " +
			"SIGHUP to retry at once, or wait"
		if c.killedBy != "" { // no traceback: it was still loading
			msg = "worker could not start: the supervisor killed it while it was loading; " +
				"the error says what to do, then send SIGHUP to retry at once, or wait"
		}
		s.log.Error(msg, append(attrs, "error", c.failure)...)
	} else {
		s.log.Warn("worker could not start again", attrs...)
	}
	if sl.pending == nil {
		s.retryLater(sl, delay)
	}
}

// bootBackoff is the wait before the next start of a slot whose workers fail to start:
// 1 s, doubling up to 30 s.
func (s *supervisor) bootBackoff(sl *slot) time.Duration {
	return backoff(max(sl.bootFailures, 1))
}

func backoff(n int) time.Duration {
	d := bootBackoffFirst
	for i := 1; i < n && d < bootBackoffMax; i++ {
		d *= 2
	}
	return min(d, bootBackoffMax)
}

// crashed handles a ready worker that died (a segfault, os._exit, the OOM killer): the
// others keep serving and the slot gets a new worker at once, unless it keeps crashing soon
// after it starts, which backs off like a boot failure.
func (s *supervisor) crashed(c *child, attrs []any) {
	sl := c.slot
	if time.Since(c.readyAt) > crashQuiet {
		sl.crashes = 0
	}
	sl.crashes++
	s.metrics.recycled(sl.key(), "crash")
	attrs = append(attrs, "served_for", time.Since(c.readyAt).Round(time.Millisecond).String())
	if sl.pending != nil { // a reloaded worker is already on its way
		s.log.Error("worker died; its replacement is already starting", attrs...)
		return
	}
	if sl.crashes == 1 {
		msg := "worker died; starting a new one"
		if c.cmd.ProcessState.Success() {
			msg = "worker stopped by itself (a signal sent to it rather than to the " +
				"supervisor?); starting a new one"
		}
		s.log.Error(msg, attrs...)
		s.spawn(sl)
		return
	}
	delay := backoff(sl.crashes - 1)
	s.log.Error("worker died again soon after starting; backing off before the next one",
		append(attrs, "crashes_in_a_row", sl.crashes, "retry_in", delay.String())...)
	s.retryLater(sl, delay)
}

func (s *supervisor) retryLater(sl *slot, d time.Duration) {
	if sl.retry != nil || s.stopping {
		return
	}
	sl.retry = time.AfterFunc(d, func() { s.events <- event{kind: evRetry, slot: sl} })
}

// exitBootFailure is the supervisor's exit status when it gave up on workers that cannot
// start (gunicorn's, for the same reason).
const exitBootFailure = 3

// giveUp ends the retries of a slot whose workers failed to start --boot-attempts times in a
// row. While an older worker still serves the slot (a reload or recycle whose new code does
// not load) that worker keeps serving and the slot stops trying until SIGHUP; a slot with no
// worker at all means the server cannot serve what it was asked to, so the supervisor stops
// every worker and exits with exitBootFailure, for a process manager to see and report.
func (s *supervisor) giveUp(c *child, attrs []any) {
	sl := c.slot
	if sl.serving != nil {
		s.log.Error("replacement worker could not start; giving up on it: the current worker "+
			"keeps serving the old code. Fix the app (its error is above) and send SIGHUP",
			attrs...)
		return
	}
	s.log.Error("worker could not start after --boot-attempts tries in a row; giving up: "+
		"stopping every worker and exiting with status 3. Fix the app (its error is above) "+
		"and start pyhost again, or raise --boot-attempts (0: retry for ever)", attrs...)
	s.gaveUp = true
	s.front.shutdown(s.shutdownTimeout())
	s.stop()
	s.after(s.shutdownTimeout()+stopMargin, s.killAll)
}
