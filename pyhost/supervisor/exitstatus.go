package supervisor

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/worker"
)

// signalNames spells the signals that end workers the way people search for them.
var signalNames = map[syscall.Signal]string{
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGKILL: "SIGKILL", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGILL: "SIGILL",
	syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT", syscall.SIGHUP: "SIGHUP",
	syscall.SIGQUIT: "SIGQUIT", syscall.SIGPIPE: "SIGPIPE", syscall.SIGTRAP: "SIGTRAP",
	syscall.SIGSYS: "SIGSYS", syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2",
}

// describeExit says how a worker ended: "exit status 3", "signal SIGSEGV (segmentation
// fault)"; hint adds what to look at, when there is something.
func describeExit(ps *os.ProcessState) (status, hint string) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.String(), ""
	}
	if !ws.Signaled() {
		return fmt.Sprintf("exit status %d", ws.ExitStatus()), ""
	}
	sig := ws.Signal()
	name, ok := signalNames[sig]
	if !ok {
		name = fmt.Sprintf("signal %d", int(sig))
	}
	status = fmt.Sprintf("signal %s (%s)", name, sig)
	if ws.CoreDump() {
		status += ", core dumped"
	}
	switch sig {
	case syscall.SIGKILL:
		hint = "killed from outside: by hand, or by the kernel's OOM killer (look for " +
			"\"Out of memory\" in dmesg or the journal)"
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGABRT, syscall.SIGFPE, syscall.SIGILL:
		hint = signalCrashHint
	}
	return status, hint
}

// signalCrashHint is the advice for a worker that a fatal signal in C code ended.
const signalCrashHint = "a crash in C code (an extension module, or ctypes); the worker " +
	"logged the Python stack of the crashing thread, when the crash happened in a call " +
	"from Python"

// crashHint is the advice for a worker whose Go runtime reported a fatal signal (exit status
// 2): a crash in C code called from Python left the Python stack on stderr and Go's report
// in a file (cgo/crash.c); one elsewhere left Go's report on stderr.
func crashHint(pid int, started time.Time) string {
	if path := worker.CrashReportPath(pid); writtenSince(path, started) {
		return "a crash in C code called from Python (an extension module, or ctypes): the " +
			"worker logged the Python stack of the crashing thread above; Go's report " +
			"(pyhost's goroutine stacks) is in " + path
	}
	return "a crash in C code outside any Python call (an extension's own thread?), or in " +
		"pyhost: Go's report above names the code"
}

// writtenSince: path exists and was written after t (not a report of an earlier process that
// had the same pid).
func writtenSince(path string, t time.Time) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.ModTime().Before(t.Truncate(time.Second))
}

// stoppedBySIGTERM: a worker told to stop before it could install its handler ends by the
// signal itself, which is a stop all the same.
func stoppedBySIGTERM(ps *os.ProcessState) bool { return endedBySignal(ps, syscall.SIGTERM) }

// killedBySIGKILL: the worker ended by SIGKILL, which only the supervisor (when it says so in
// child.killedBy), a person or the kernel sends.
func killedBySIGKILL(ps *os.ProcessState) bool { return endedBySignal(ps, syscall.SIGKILL) }

func endedBySignal(ps *os.ProcessState, sig syscall.Signal) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}
