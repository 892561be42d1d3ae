package gil

import (
	"fmt"
	"strings"
)

// Mode is how request threads share Python's global interpreter lock.
type Mode string

const (
	// Shared: every interpreter shares the main GIL (any CPython ≥ 3.11).
	Shared Mode = "shared"
	// Own: each sub-interpreter has its own GIL (PEP 684, CPython ≥ 3.12).
	Own Mode = "own"
	// Free: a free-threaded CPython (PEP 703, 3.13t) with the GIL disabled.
	Free Mode = "free"
)

// ParseMode reads --gil.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(s)); m {
	case Shared, Own, Free:
		return m, nil
	}
	return "", fmt.Errorf("--gil %q: want shared, own or free", s)
}

// Build describes the CPython pyhost was linked against.
type Build struct {
	VersionHex   uint32 // PY_VERSION_HEX
	Version      string // e.g. "3.13.0"
	FreeThreaded bool
}

func (b Build) atLeast(major, minor uint32) bool {
	return b.VersionHex>>16 > major<<8|minor || b.VersionHex>>16 == major<<8|minor
}

// Check refuses a mode the linked Python cannot run, saying what would.
func (m Mode) Check(b Build) error {
	abi := b.Version
	if b.FreeThreaded {
		abi += " (free-threaded)"
	}
	switch m {
	case Own:
		if !b.atLeast(3, 12) {
			return fmt.Errorf("--gil own needs Python ≥ 3.12 (PEP 684); this binary is linked "+
				"against %s: rebuild with make PYTHON=/path/to/python3.12-or-newer "+
				"(scripts/build-python.sh 3.13 builds one)", abi)
		}
		if b.FreeThreaded {
			return fmt.Errorf("--gil own needs a CPython built with the GIL; this binary is "+
				"linked against %s, which has none to give each interpreter: use --gil free, "+
				"or rebuild with make PYTHON=/path/to/python3.13", abi)
		}
	case Free:
		if !b.FreeThreaded {
			return fmt.Errorf("--gil free needs a free-threaded CPython (PEP 703, 3.13t); this "+
				"binary is linked against %s: rebuild with make PYTHON=$(scripts/build-python.sh "+
				"3.13 --free-threaded)/bin/python3.13t", abi)
		}
	}
	return nil
}

// EnableGIL is the PyConfig.enable_gil a free-threaded build starts with in this mode: on
// for shared, CPython's default for free (off; an extension that has not declared
// free-threading support turns it back on, which pyhost reports). Ignored on GIL builds.
func (m Mode) EnableGIL() int {
	if m == Shared {
		return 1
	}
	return -1
}
