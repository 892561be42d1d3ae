package wsgi

import (
	"os"
	"sync"
	"testing"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
)

// The embedded runtime can start once per process: every test, benchmark and fuzz target of
// the package shares it, started by whichever needs it first.
var (
	pythonOnce sync.Once
	pythonReg  *subinterp.Registry
	pythonErr  error
)

// testRegistry returns the shared registry over the shared runtime (shared GIL, one
// interpreter per group, multithreaded).
func testRegistry(tb testing.TB) *subinterp.Registry {
	tb.Helper()
	pythonOnce.Do(func() {
		rt, err := cgo.Initialize(cgo.Config{ProgramName: os.Args[0], EnableGIL: -1})
		if err != nil {
			pythonErr = err
			return
		}
		pythonReg = subinterp.NewRegistry(rt, gil.Shared, 1, true)
	})
	if pythonErr != nil {
		tb.Fatalf("starting Python: %v", pythonErr)
	}
	return pythonReg
}

// mainInterp is the main interpreter, prepared for serving.
func mainInterp(tb testing.TB) *cgo.Interp {
	tb.Helper()
	g, err := testRegistry(tb).Group(subinterp.Global)
	if err != nil {
		tb.Fatal(err)
	}
	return g.Interps()[0]
}
