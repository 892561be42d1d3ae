package pyhost_test

// A worker the supervisor kills itself is logged as such, with the reason: not as "killed from
// outside" (a person or the OOM killer), and not as an app to fix by its traceback.

import (
	"strings"
	"testing"
	"time"
)

// lineWith returns the first log line containing substr ("" if none).
func lineWith(log, substr string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

func TestSupervisorNamesItsOwnKills(t *testing.T) {
	t.Run("startup-timeout", func(t *testing.T) {
		logs, stop := startUnready(t, "testdata/slow_import.py", "--processes", "1",
			"--startup-timeout", "1s", "--listen", "127.0.0.1:0")
		deadline := time.Now().Add(30 * time.Second)
		for countLines(logs.String(), `msg="worker could not start`) == 0 &&
			time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = stop()
		out := logs.String()
		if strings.Contains(out, "killed from outside") || strings.Contains(out, "traceback is above") {
			t.Errorf("a worker killed for --startup-timeout is logged as killed from outside "+
				"or as an app with a traceback\n%s", out)
		}
		l := lineWith(out, `msg="worker could not start: the supervisor killed it while it was loading`)
		if !strings.Contains(l, `hint="killed by the supervisor: not ready within --startup-timeout 1s"`) ||
			!strings.Contains(l, `error="not ready within --startup-timeout 1s, so it was killed`) {
			t.Errorf("the boot failure does not say the supervisor killed it and why: %q\n%s", l, out)
		}
	})
	t.Run("graceful-timeout", func(t *testing.T) {
		s := startServer(t, "testdata/slow.py", "--processes", "1", "--restart-interval", "1s",
			"--graceful-timeout", "1s")
		go func() { _, _ = freshClient().Get(s.URL + "/?ms=25000&id=long") }()
		waitForLines(t, s, `status="signal SIGKILL (killed)"`, 1)
		out := s.Log.String()
		l := lineWith(out, `status="signal SIGKILL (killed)"`)
		if !strings.Contains(l, `msg="worker stopped: the supervisor killed it"`) ||
			!strings.Contains(l, `hint="killed by the supervisor: its requests still ran --graceful-timeout 1s after it was replaced"`) {
			t.Errorf("the kill after --graceful-timeout is not logged as the supervisor's: %q\n%s", l, out)
		}
		if strings.Contains(out, "killed from outside") {
			t.Errorf("logged as killed from outside\n%s", out)
		}
	})
}
