package supervisor

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/pyhost/pyhost/pyhost/config"
)

// --reload, the supervisor's side: what it watches (the app's own source trees), the reload a
// change starts (SIGHUP's, for the process groups that asked for it), and what a worker that
// cannot import the changed code leads to: nothing but a log record. The old worker keeps
// serving the old code and the slot waits, without retries, for the next change.

// startWatching watches the source trees of the groups run with --reload; it returns the
// channel of their changes (nil: nothing is watched).
func (s *supervisor) startWatching() <-chan []string {
	var cfgs []config.Config
	for _, g := range s.groups {
		if g.cfg.Reload {
			cfgs = append(cfgs, g.cfg)
		}
	}
	if len(cfgs) == 0 {
		return nil
	}
	cwd, err := os.Getwd()
	if err != nil {
		s.log.Error("--reload watches nothing: the current folder is unknown", "error", err)
		return nil
	}
	roots, scripts := sourceRoots(cfgs, cwd)
	w, err := watchSources(roots, scripts, s.log)
	if err != nil {
		s.log.Error("--reload watches nothing: changes to the app are not seen (send SIGHUP "+
			"to reload)", "error", err)
		return nil
	}
	s.watch = w
	s.log.Info("--reload: watching the app's Python files; a change reloads the workers",
		"folders", strings.Join(roots, ","), "watched_folders", w.dirs())
	return w.changes
}

func (s *supervisor) stopWatching() {
	if s.watch != nil {
		s.watch.close()
	}
}

// sourceChanged reloads the groups run with --reload after a change to their files.
func (s *supervisor) sourceChanged(paths []string) {
	shown := paths
	if len(shown) > 5 {
		shown = append(slices.Clone(shown[:5]), "...")
	}
	s.log.Info("reloading: the app's files changed", "changed", strings.Join(shown, ","))
	var slots []*slot
	for _, sl := range s.slots {
		if sl.group.cfg.Reload {
			slots = append(slots, sl)
		}
	}
	s.reloadSlots(slots)
}

// bootFailedReloading handles a worker of a --reload group that could not start: trying the
// same code again would fail the same way, so the slot waits for the next change (or
// SIGHUP), and a worker still serving it keeps serving the old code. It never gives up: a
// developer fixes the code and saves.
func (s *supervisor) bootFailedReloading(c *child, attrs []any) {
	msg := "the changed code could not load (its traceback is above); the old code keeps " +
		"serving. Fix it and save: the next change reloads"
	if c.slot.serving == nil {
		msg = "the app could not load (its traceback is above); nothing is served until it " +
			"does. Fix it and save: the next change reloads"
	}
	if c.killedBy != "" {
		msg = "the app did not load in time: the supervisor killed it (see the error); fix it " +
			"and save: the next change reloads"
	}
	s.log.Error(msg, append(attrs, "error", c.failure)...)
}

// sourceRoots are the folders --reload watches for cfgs, each with its subfolders: every app
// script's folder, --chdir (or the current folder, where a module app is imported from), and
// the --python-path entries that are not installed packages or Python's own library; and the
// app scripts themselves (a mod_wsgi script need not end in .py). Relative paths are taken
// from cwd, as the workers take them. A folder inside another one listed is left out.
func sourceRoots(cfgs []config.Config, cwd string) (roots, scripts []string) {
	var all []string
	for _, c := range cfgs {
		base := cwd
		if c.Chdir != "" {
			base = absFrom(cwd, c.Chdir)
			all = append(all, base)
		}
		for _, m := range c.AllMounts() {
			if isScript(m.App) {
				path := absFrom(base, m.App)
				scripts = append(scripts, path)
				all = append(all, filepath.Dir(path))
			} else {
				all = append(all, base)
			}
		}
		for _, p := range c.PythonPath {
			if p = absFrom(base, p); !installedPackages(p, c.PythonHome) {
				all = append(all, p)
			}
		}
	}
	slices.Sort(all)
	for _, dir := range slices.Compact(all) {
		if !slices.ContainsFunc(roots, func(r string) bool { return within(dir, r) }) {
			roots = append(roots, dir)
		}
	}
	return roots, scripts
}

// isScript: the app is a file (as pyhost's loader tells them), not a module to import.
func isScript(app string) bool {
	return strings.HasSuffix(app, ".py") || strings.HasSuffix(app, ".wsgi") ||
		strings.Contains(app, "/")
}

func absFrom(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// within: dir is root or below it.
func within(dir, root string) bool {
	return dir == root || strings.HasPrefix(dir, strings.TrimSuffix(root, "/")+"/")
}

// pythonLib matches Python's own library folder as a path element (lib/python3.12).
var pythonLib = regexp.MustCompile(`^python\d+(\.\d+)?t?$`)

// installedPackages: a --python-path entry that holds installed code, not the app's own:
// site-packages, dist-packages, Python's library, a virtualenv, or the --python-home.
func installedPackages(dir, pythonHome string) bool {
	if pythonHome != "" && within(dir, filepath.Clean(pythonHome)) {
		return true
	}
	for _, part := range strings.Split(dir, "/") {
		if part == "site-packages" || part == "dist-packages" || pythonLib.MatchString(part) {
			return true
		}
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "pyvenv.cfg")); err == nil {
			return true
		}
	}
	return false
}
