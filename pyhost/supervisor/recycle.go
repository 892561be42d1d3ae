package supervisor

import (
	"fmt"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
)

// The supervisor's side of recycling: --startup-timeout (a worker that does not get ready in
// time is killed and counted as a boot failure) and --graceful-timeout (a replaced worker's
// in-flight requests get this long before it is killed). Both act through timers whose
// expiry is handled on the supervisor's goroutine (evTimer), like every other event.

// recycling is the recycling configuration of c's process group (each group has its own).
func (s *supervisor) recycling(c *child) config.Recycling { return c.slot.group.cfg.Recycle }

// after runs fn on the supervisor's goroutine d from now.
func (s *supervisor) after(d time.Duration, fn func()) {
	time.AfterFunc(d, func() { s.events <- event{kind: evTimer, fn: fn} })
}

// watchStartup kills c if it is still starting after --startup-timeout; its exit is then
// handled as a boot failure (logged with the reason, retried with back-off).
func (s *supervisor) watchStartup(c *child) {
	d := s.recycling(c).StartupTimeout
	s.killIfStill(c, workerStarting, d, func() {
		c.failure = fmt.Sprintf("not ready within --startup-timeout %s, so it was killed: "+
			"make the app load faster (what does it wait for at import?) or raise "+
			"--startup-timeout", d)
		c.killedBy = "not ready within --startup-timeout " + d.String()
		s.log.Error("worker not ready within --startup-timeout; killing it", c.logAttrs(
			"startup_timeout", d.String())...)
	})
}

// killAfterGrace kills c, a worker drained because a new one replaced it (a recycle or a
// reload), if it still runs after --graceful-timeout. Without that flag the worker stops
// itself at --shutdown-timeout, as on a full stop.
func (s *supervisor) killAfterGrace(c *child) {
	d := s.recycling(c).GracefulTimeout
	s.killIfStill(c, workerDraining, d, func() {
		s.transition(c, workerStopping)
		c.killedBy = "its requests still ran --graceful-timeout " + d.String() + " after it was replaced"
		s.log.Warn("replaced worker still has requests running after --graceful-timeout; "+
			"killing it", c.logAttrs("graceful_timeout", d.String())...)
	})
}

// killIfStill kills c with SIGKILL when, d from now, it is still in state st (d ≤ 0: never);
// say records why, just before.
func (s *supervisor) killIfStill(c *child, st workerState, d time.Duration, say func()) {
	if d <= 0 {
		return
	}
	s.after(d, func() {
		if c.state != st {
			return // moved on: ready, told to stop, or gone
		}
		say()
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
	})
}
