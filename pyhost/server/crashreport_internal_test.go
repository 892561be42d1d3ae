package server

import (
	"os"
	"testing"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The supervisor finds a crashed worker's report at worker.CrashReportPath (it builds without
// cgo); cgo writes it at cgo.CrashReportPath: the two must name the same file.
func TestCrashReportPathMatchesCgo(t *testing.T) {
	for _, pid := range []int{1, os.Getpid(), 4194304} {
		if w, c := worker.CrashReportPath(pid), cgo.CrashReportPath(pid); w != c {
			t.Errorf("pid %d: worker.CrashReportPath = %q, cgo.CrashReportPath = %q", pid, w, c)
		}
	}
}
