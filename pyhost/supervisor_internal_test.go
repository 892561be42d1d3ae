package pyhost

import (
	"testing"
	"time"
)

// A slot that keeps failing waits 1 s, 2 s, 4 s ... and never more than 30 s.
func TestBootBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second,
		3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 1000: 30 * time.Second} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// Each recycle reason a worker sends (as recycle.go, wsgi's deadline watch and the deadlock
// watch word it) gets its label value.
func TestRecycleReasonClass(t *testing.T) {
	for reason, want := range map[string]string{
		"maximum-requests 50 reached (50 plus a jitter of 0)":                               "maximum-requests",
		"restart-interval 1m0s reached":                                                     "restart-interval",
		"inactivity-timeout 5s: no request for 5.1s":                                        "inactivity-timeout",
		"cpu-time-limit 1s: used 1.02s of CPU":                                              "cpu-time-limit",
		"memory-limit: RSS 301 MiB > 300 MiB":                                               "memory-limit",
		"a request passed --request-timeout and has not unwound within --interrupt-timeout": "request-timeout",
		"the GIL of application group x could not be taken for --deadlock-timeout: C code":  "deadlock",
		"reload":         "reload",
		"something else": "other",
	} {
		if got := recycleReasonClass(reason); got != want {
			t.Errorf("recycleReasonClass(%q) = %q, want %q", reason, got, want)
		}
	}
}
