package pyhost

import (
	"fmt"
	"os"
	"syscall"
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

// signalCrashHint is the advice for a worker that a fatal signal in C code ended (Go reports
// those with exit status 2 and its crash report, which names the signal).
const signalCrashHint = "a crash in C code (an extension module, or ctypes); enable " +
	"faulthandler (PYTHONFAULTHANDLER=1) to log the Python stack of the crashing thread"

// stoppedBySIGTERM: a worker told to stop before it could install its handler ends by the
// signal itself, which is a stop all the same.
func stoppedBySIGTERM(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}

// killedBySIGKILL: the worker ended by SIGKILL, which only the supervisor (when it says so in
// worker.killedBy), a person or the kernel sends.
func killedBySIGKILL(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
