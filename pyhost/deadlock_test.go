package pyhost_test

// --deadlock-timeout: C code that keeps an interpreter's GIL is reported for recycling.

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDeadlockTimeout: C code that keeps an interpreter's GIL (a regex backtracking for
// minutes) is reported for recycling after --deadlock-timeout, naming the group whose GIL it
// is — with --gil own a sub-interpreter's own GIL, which a probe of the main interpreter
// alone would never see. Before that, a server with free GILs reports nothing.
func TestDeadlockTimeout(t *testing.T) {
	t.Run("free-gils", func(t *testing.T) {
		// Probes every 25 ms, also while the server stops: it must still finalise cleanly
		// (startServer checks the clean exit).
		s := startServer(t, "testdata/timeouts.py", "--deadlock-timeout", "100ms",
			"--application-group", "t")
		for i := 0; i < 5; i++ {
			stillServes(t, s, "nothing")
			time.Sleep(100 * time.Millisecond)
		}
		if strings.Contains(s.Log.String(), "RECYCLE NEEDED") {
			t.Fatalf("a deadlock reported while every GIL was free:\n%s", s.Log)
		}
	})
	if linked.FreeThreaded {
		t.Skipf("a free-threaded build (%s) has no GIL for C code to hold", linked.Version)
	}
	placements := map[string][]string{"shared-main": {"--gil", "shared"}}
	if linked.Minor >= 12 {
		placements["own-sub"] = []string{"--gil", "own", "--application-group", "t"}
	}
	for name, mode := range placements {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/timeouts.py", "--threads", "2",
				"--deadlock-timeout", "500ms", "--shutdown-timeout", "1s"}, mode...)...)
			for i := 0; i < 5; i++ {
				stillServes(t, s, "nothing")
				time.Sleep(200 * time.Millisecond)
			}
			if strings.Contains(s.Log.String(), "RECYCLE NEEDED") {
				t.Fatalf("a deadlock reported while every GIL was free:\n%s", s.Log)
			}
			go func() {
				c := &http.Client{Timeout: 20 * time.Second}
				if resp, err := c.Get(s.URL + "/regex"); err == nil {
					resp.Body.Close()
				}
			}()
			group := "%{GLOBAL}"
			if name == "own-sub" {
				group = "t"
			}
			waitForLog(t, s, "RECYCLE NEEDED: the GIL of application group "+group+" could not be taken")
			if group != "%{GLOBAL}" && strings.Contains(s.Log.String(), "group %{GLOBAL} could not") {
				t.Errorf("the main interpreter's GIL, free all along, was reported:\n%s", s.Log)
			}
			_ = s.stop()
		})
	}
}
