// Package cgo is pyhost's thin layer over the CPython C-API: the only package that imports "C".
//
// Go code never holds a Python object. It holds an *Interp (a C struct owned by this package),
// hands a packed environ to Serve, and gets plain bytes back. Work that CPython wants on the
// thread that initialised it (start-up, creating interpreters, finalisation) runs on one locked
// goroutine, the runtime's "main thread".
package cgo

/*
#cgo pkg-config: python3-embed
// Our C is clean under -Wall -Wextra (checked against 3.11, 3.12, 3.13 and 3.13t headers);
// -Wno-unused-parameter only quiets cgo's generated prologue for argument-less calls.
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter
#include <stdlib.h>
#include "pyh.h"
*/
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

//go:embed bootstrap.py
var bootstrapSource string

// Version is the linked CPython's sys.version (e.g. "3.11.2 (main, ...) [GCC 12.2.0]").
func Version() string { return C.GoString(C.pyh_version()) }

// IsFreeThreadedBuild reports whether the linked CPython is a free-threaded (PEP 703) build.
func IsFreeThreadedBuild() bool { return C.pyh_free_threaded() != 0 }

// LibpythonFile names the file the running libpython's code was loaded from: the pyhost
// executable itself when libpython was linked in statically, else the shared library (""
// when the dynamic loader cannot tell).
func LibpythonFile() string { return C.GoString(C.pyh_libpython_file()) }

// VersionHex is PY_VERSION_HEX of the headers pyhost was compiled against.
func VersionHex() uint32 { return uint32(C.PY_VERSION_HEX) }

// Config is what Initialize needs to know.
type Config struct {
	ProgramName string
	PythonHome  string // a Python prefix or a virtualenv
	// EnableGIL matters only on free-threaded builds: 0 keeps the GIL off even when an
	// extension asks for it, -1 lets an extension re-enable it (CPython's default), 1 turns it on.
	EnableGIL int
	// Log receives warnings about what app code did to the process (nil: slog.Default()).
	Log *slog.Logger
}

// Runtime is the initialised embedded interpreter. There is at most one per process.
type Runtime struct {
	calls chan func()
	done  chan struct{}
	log   *slog.Logger
	main  *Interp
	subs  []*Interp // sub-interpreters, in creation order; touched only on the main thread

	listMu sync.Mutex
	listed []*Interp // every sub-interpreter made, for Interps (any goroutine)

	finalizeOnce sync.Once
	finalizeErr  error
}

var started sync.Once

// Initialize starts CPython on a dedicated, locked OS thread and returns the runtime.
func Initialize(cfg Config) (*Runtime, error) {
	var already = true
	started.Do(func() { already = false })
	if already {
		return nil, errors.New("the Python runtime can be initialised once per process")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ignoreSIGPIPE()
	rt := &Runtime{calls: make(chan func()), done: make(chan struct{}), log: cfg.Log}
	appLog.Store(cfg.Log) // what apps log outside a request (callbacks.go)
	errc := make(chan error, 1)
	go rt.mainThread(cfg, errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	return rt, nil
}

func (rt *Runtime) mainThread(cfg Config, errc chan<- error) {
	// Never unlocked: when this goroutine returns after finalising, its thread goes with it.
	runtime.LockOSThread()
	name := C.CString(cfg.ProgramName)
	home := C.CString(cfg.PythonHome)
	defer C.free(unsafe.Pointer(name))
	defer C.free(unsafe.Pointer(home))
	prefix := C.CString(crashReportPrefix())
	C.pyh_crash_prepare(prefix)
	C.free(unsafe.Pointer(prefix))
	var cerr *C.char
	var rc C.int
	keepingSignals(rt.log, "while Python started (site-packages .pth files)", func() {
		rc = C.pyh_initialize(name, home, C.int(cfg.EnableGIL), &cerr)
	})
	if rc != 0 {
		errc <- fmt.Errorf("%s", takeCString(cerr))
		return
	}
	rt.main = &Interp{c: C.pyh_main_interp(), Name: "%{GLOBAL}"}
	errc <- nil
	for f := range rt.calls {
		f()
	}
	close(rt.done)
}

// Do runs f on the runtime's main OS thread and waits for it. If f's Python code changed how
// a signal pyhost keeps is handled (signal.signal works only there), Go's handling is put
// back and the log says so.
func (rt *Runtime) Do(f func()) { rt.do("while running Python on the main thread", f) }

// do is Do with the work named for the log ("while importing app.py"); "" restores signals
// without a word.
func (rt *Runtime) do(during string, f func()) {
	done := make(chan struct{})
	rt.calls <- func() { keepingSignals(rt.log, during, f); close(done) }
	<-done
}

// Interps lists every interpreter made so far, the main one first.
func (rt *Runtime) Interps() []*Interp {
	rt.listMu.Lock()
	defer rt.listMu.Unlock()
	return append([]*Interp{rt.main}, rt.listed...)
}

// Main is the main interpreter (the %{GLOBAL} application group).
func (rt *Runtime) Main() *Interp { return rt.main }

// Finalize ends every interpreter and the runtime (once; later calls return the first
// result). No request may be running.
func (rt *Runtime) Finalize() error {
	rt.finalizeOnce.Do(func() { rt.finalizeErr = rt.finalize() })
	return rt.finalizeErr
}

func (rt *Runtime) finalize() error {
	var rc C.int
	var alive []string
	// Quietly: Py_FinalizeEx resets to SIG_DFL every signal an app had a handler for.
	rt.do("", func() {
		// Newest first, each with its own thread state current, then the runtime.
		for i := len(rt.subs) - 1; i >= 0; i-- {
			if C.pyh_end_interp(rt.subs[i].c) != 0 {
				alive = append(alive, rt.subs[i].Name)
			}
		}
		rt.subs = nil
		if len(alive) == 0 {
			rc = C.pyh_finalize()
		}
	})
	close(rt.calls)
	<-rt.done
	if len(alive) > 0 {
		return &NotFinalizedError{Groups: alive}
	}
	if rc != 0 {
		return errors.New("Py_FinalizeEx reported an error while flushing buffered data")
	}
	return nil
}

// NotFinalizedError: sub-interpreters still had daemon threads of the app running, so they
// (and with them the runtime) could not be ended safely; the process should just exit.
type NotFinalizedError struct{ Groups []string }

func (e *NotFinalizedError) Error() string {
	return fmt.Sprintf("application group(s) %s still run daemon threads started by the app; "+
		"Python was not finalised (atexit handlers did not run)", strings.Join(e.Groups, ", "))
}

func takeCString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.pyh_free(unsafe.Pointer(s))
	return strings.TrimRight(C.GoString(s), "\n")
}
