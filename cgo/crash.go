package cgo

import (
	"os"
	"path/filepath"
	"strconv"
)

// crashReportPrefix is where crash.c writes the Go runtime's report of a crash in C code
// called from Python (its path less the process id and ".txt").
func crashReportPrefix() string { return filepath.Join(os.TempDir(), "pyhost-crash-") }

// CrashReportPath is the file where the process pid, had it crashed in C code called from
// Python, wrote the Go runtime's report (the Python stack went to its stderr).
func CrashReportPath(pid int) string {
	return crashReportPrefix() + strconv.Itoa(pid) + ".txt"
}
