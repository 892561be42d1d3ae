package worker

import (
	"os"
	"path/filepath"
	"strconv"
)

// CrashReportPath is the file where worker pid, had it crashed in C code called from Python,
// left the Go runtime's report (its Python stack went to its stderr): the supervisor looks
// there to tell whoever reads its log. cgo/crash.go writes the file and computes the same path
// on its side (os.TempDir()/pyhost-crash-PID.txt); a test in pyhost/server holds the two equal.
func CrashReportPath(pid int) string {
	return filepath.Join(os.TempDir(), "pyhost-crash-"+strconv.Itoa(pid)+".txt")
}
