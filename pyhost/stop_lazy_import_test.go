package pyhost_test

// A stop after the app's first `import threading` happened inside a request. Before 3.13,
// threading takes the thread that imports it first for the main thread, and
// threading._shutdown() (run by Py_FinalizeEx, and by pyhost before it ends a sub-interpreter)
// waits for that thread's thread state to end: a request thread's, which lives until after
// finalisation. Every stop then ran into --shutdown-timeout and exited 1. pyhost imports
// threading on the thread that ends each interpreter before any app code runs.

import (
	"strings"
	"testing"
)

func TestStopAfterLazyStdlibImport(t *testing.T) {
	setups := []struct {
		name string
		args []string
	}{
		{"global", []string{"testdata/lazy_import.py"}},
		{"sub-interpreter", []string{"--mount", "/=testdata/lazy_import.py,group=lazy"}},
		{"worker", []string{"testdata/lazy_import.py", "--processes", "1"}},
	}
	if linked.Minor >= 12 && !linked.FreeThreaded {
		setups = append(setups, struct {
			name string
			args []string
		}{"own-gil", []string{"--mount", "/=testdata/lazy_import.py,group=lazy", "--gil", "own"}})
	}
	modules := []string{"logging", "threading", "concurrent.futures", "socketserver", "http.server"}
	for _, setup := range setups {
		for _, mod := range modules {
			if setup.name != "global" && mod != "logging" {
				continue // one module is enough to show each interpreter kind
			}
			t.Run(setup.name+"/"+mod, func(t *testing.T) {
				t.Parallel()
				// Far longer than a clean stop takes: a stop that waits for it exits 1.
				args := append([]string{"--threads", "2", "--shutdown-timeout", "40s"}, setup.args...)
				s := startServer(t, args...)
				for range 3 {
					resp, body := s.get(t, "/?"+mod)
					if resp.StatusCode != 200 || !strings.Contains(string(body), "imported "+mod) {
						t.Fatalf("GET /?%s: %d %q\n%s", mod, resp.StatusCode, body, s.Log)
					}
				}
				if err := s.stop(); err != nil {
					t.Fatalf("SIGTERM after a request imported %s: %v (want exit 0)\n%s", mod, err, s.Log)
				}
				log := s.Log.String()
				if strings.Contains(log, "did not finish finalising") || !strings.Contains(log, "stopped cleanly") {
					t.Errorf("SIGTERM after a request imported %s: not a clean stop:\n%s", mod, log)
				}
			})
		}
	}
}
