package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pyhost/pyhost/gil"
)

// CheckPythonHome looks at --python-home before Python does: CPython started with a home that
// is not a Python prefix dumps its path configuration and dies on a codec error, which tells
// an operator nothing. A home must be a folder with a pyvenv.cfg (a virtualenv) or a
// lib/pythonX.Y (an installation's prefix), of the Python pyhost is linked with where the
// folder says (build: the linked Python; a zero build skips that part). Only files are looked
// at; nothing is started.
func CheckPythonHome(home string, build gil.Build) error {
	if home == "" {
		return nil
	}
	dir := home
	if _, err := os.Stat(dir); err != nil && strings.Contains(home, ":") {
		dir, _, _ = strings.Cut(home, ":") // PYTHONHOME's prefix:exec_prefix
	}
	const what = "give the folder of a virtualenv (the one holding pyvenv.cfg) or of a " +
		"Python installation (holding lib/python3.X), as python3 -c 'import sys; " +
		"print(sys.prefix)' prints it"
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--python-home %s: no such folder; %s", home, what)
	case err != nil:
		return fmt.Errorf("--python-home %s: %v", home, errors.Unwrap(err))
	case !fi.IsDir():
		hint := what
		if strings.HasPrefix(filepath.Base(dir), "python") {
			hint = "name the folder above its bin/, " + filepath.Dir(filepath.Dir(dir))
		}
		return fmt.Errorf("--python-home %s is a file, not a folder: %s", home, hint)
	}
	libs := pythonLibDirs(dir)
	_, venvErr := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	if venvErr != nil && len(libs) == 0 {
		return fmt.Errorf("--python-home %s does not look like a Python prefix or a "+
			"virtualenv: it has neither pyvenv.cfg nor lib/python3.X; %s", home, what)
	}
	if build.VersionHex == 0 || len(libs) == 0 {
		return nil
	}
	want := fmt.Sprintf("python%d.%d", build.VersionHex>>24, build.VersionHex>>16&0xff)
	if slices.Contains(libs, want) || slices.Contains(libs, want+"t") {
		return nil
	}
	return fmt.Errorf("--python-home %s is for another Python (it has lib/%s); pyhost is "+
		"linked with Python %s: give a virtualenv made with Python %s, or that Python's prefix",
		home, strings.Join(libs, ", lib/"), build.Version, strings.TrimPrefix(want, "python"))
}

// pythonLibDirs lists the pythonX.Y folders under dir's lib and lib64.
func pythonLibDirs(dir string) []string {
	var out []string
	for _, lib := range []string{"lib", "lib64"} {
		entries, _ := os.ReadDir(filepath.Join(dir, lib))
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), "python3.") && !slices.Contains(out, e.Name()) {
				out = append(out, e.Name())
			}
		}
	}
	return out
}
