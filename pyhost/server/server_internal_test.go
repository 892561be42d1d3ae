package server

import (
	"testing"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/subinterp"
)

// config names %{GLOBAL} without importing subinterp (it builds without cgo); the two must
// agree, or the apps of %{GLOBAL} would load into a sub-interpreter of that name.
func TestAppGroupGlobalIsSubinterpGlobal(t *testing.T) {
	if config.AppGroupGlobal != subinterp.Global {
		t.Errorf("config.AppGroupGlobal = %q, subinterp.Global = %q", config.AppGroupGlobal,
			subinterp.Global)
	}
}
