package server

import (
	"os"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// What this binary says of the CPython it is linked against (config validates GIL modes
// against it; pyhost version prints it).

// LinkedBuild describes the CPython this binary is linked against.
func LinkedBuild() gil.Build {
	hex := cgo.VersionHex()
	return gil.Build{
		VersionHex:   hex,
		Version:      strings.Fields(cgo.Version())[0],
		FreeThreaded: cgo.IsFreeThreadedBuild(),
	}
}

// PythonVersion is the linked Python's sys.version, on one line.
func PythonVersion() string { return strings.ReplaceAll(cgo.Version(), "\n", " ") }

// Libpython says whether libpython is linked into this binary or loaded from a shared
// library, and which.
func Libpython() string {
	file := cgo.LibpythonFile()
	if file == "" {
		return "unknown (the dynamic loader does not say)"
	}
	if exe, err := os.Executable(); err == nil {
		a, errA := os.Stat(exe)
		b, errB := os.Stat(file)
		if errA == nil && errB == nil && os.SameFile(a, b) {
			return "static, linked into this binary"
		}
	}
	return "shared, " + file
}
