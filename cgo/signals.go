package cgo

/*
#include "pyh.h"
*/
import "C"

import (
	"log/slog"
	"os/signal"
	"syscall"
)

// ignoreSIGPIPE makes SIGPIPE ignored process-wide (the kernel's SIG_IGN), before Python
// starts. Go alone ignores it only for its own writes on its own threads: a thread Python
// started (an app's background thread) writing to a socket whose peer left would otherwise
// kill the process (exit status 141). Ignored, every such write fails with EPIPE instead —
// BrokenPipeError in Python, an error from Go's writes — as under plain Python, which ignores
// SIGPIPE at start-up too. A subprocess the app starts gets SIGPIPE's default back, as under
// plain Python: the subprocess module restores it in the child (restore_signals=True).
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }

// keptSignalPurpose says, for the log, why pyhost keeps each signal of signals.c's list.
var keptSignalPurpose = map[syscall.Signal]string{
	syscall.SIGTERM: "for graceful shutdown",
	syscall.SIGINT:  "for graceful shutdown",
	syscall.SIGHUP:  "for graceful shutdown",
	syscall.SIGPIPE: "ignored (a write to a closed socket or pipe then raises " +
		"BrokenPipeError instead of killing the server)",
	syscall.SIGURG:  "for the Go scheduler (goroutine preemption)",
	syscall.SIGUSR1: "to reopen the log files (logrotate)",
}

// keepingSignals runs f (Python work on the main thread) and puts back the handling of every
// signal pyhost keeps that f changed (an app calling signal.signal at import, say). during
// names the work for the log ("importing app.py"); "" puts back silently (finalisation, where
// CPython itself resets the signals an app had taken).
func keepingSignals(log *slog.Logger, during string, f func()) {
	var snap C.pyh_signal_snapshot
	C.pyh_signals_save(&snap)
	f()
	restored := uint32(C.pyh_signals_restore(&snap))
	if restored == 0 || during == "" {
		return
	}
	for i := 0; i < C.PYH_KEPT_SIGNALS; i++ {
		if restored&(1<<i) == 0 {
			continue
		}
		sig := syscall.Signal(C.pyh_kept_signal(C.int(i)))
		name := signalName(sig)
		log.Warn("the app changed how "+name+" is handled "+during+"; pyhost keeps "+name+
			" "+keptSignalPurpose[sig]+": its own handling is back, and the app's handler "+
			"will not run",
			"signal", name,
			"fix", "remove the signal.signal call (or run it only under "+
				"if __name__ == \"__main__\"); for work at shutdown use atexit, which pyhost "+
				"runs when it stops")
	}
}

// signalName is the C name of a signal ("SIGTERM").
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGURG:
		return "SIGURG"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	}
	return sig.String()
}
