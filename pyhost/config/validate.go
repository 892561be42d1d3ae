package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Defaults and checks are two steps: ApplyDefaults fills in what was left empty, Check
// refuses what cannot run and changes nothing. Validate does one then the other.

// ApplyDefaults fills in the settings that may be left empty and whose default is not a
// flag's: the listen address, the GIL mode and, from the GIL mode, the application group.
// (The flags' defaults are ServeFlags'; a Config built by hand has zero values there.)
func (c *Config) ApplyDefaults() {
	if len(c.Listen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if c.GIL == "" {
		c.GIL = gil.Shared
	}
	if c.AppGroup == "" {
		c.AppGroup = defaultAppGroup(c.GIL)
	}
}

// Check refuses a configuration that cannot run, before anything starts: it returns the
// first problem, naming the flag at fault. build is the linked Python (GIL modes depend on
// it). Check expects ApplyDefaults to have run.
func (c Config) Check(build gil.Build) error {
	if c.App == "" && len(c.Mounts) == 0 {
		return errors.New("no application: give a WSGI script (app.py) or module:callable, " +
			"e.g. pyhost serve app.py")
	}
	for _, check := range []func() error{
		c.checkProcesses,
		c.checkListen,
		c.checkMetrics,
		c.checkTimeouts,
		func() error { return checkLimits(c.Limits) },
		func() error { return c.Recycle.check(c.Processes) },
		c.Logs.check,
		func() error { return c.GIL.Check(build) },
		func() error { return CheckPythonHome(c.PythonHome, build) },
		c.checkApps,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// Validate is ApplyDefaults then Check: what a configuration read from flags or a file goes
// through before it is used.
func (c *Config) Validate(build gil.Build) error {
	c.ApplyDefaults()
	return c.Check(build)
}

// checkProcesses checks the processes and threads that serve.
func (c Config) checkProcesses() error {
	if c.Processes < 0 {
		return fmt.Errorf("--processes %d: need at least 1 worker process (omit the flag to "+
			"serve from this one process)", c.Processes)
	}
	if c.CPUAffinity < 0 {
		return fmt.Errorf("--cpu-affinity %d: want a number of CPUs per process (0: no binding)",
			c.CPUAffinity)
	}
	if c.GoProcs == "auto" && c.Processes < 2 {
		return errors.New("--go-procs auto shares the cores among sibling workers: it needs " +
			"--processes 2 or more (one process keeps every core)")
	}
	if c.Threads < 1 {
		return fmt.Errorf("--threads %d: need at least 1 request thread", c.Threads)
	}
	return nil
}

// checkMetrics checks --metrics-listen, which must not take a port of --listen.
func (c Config) checkMetrics() error {
	if c.MetricsListen == "" {
		return nil
	}
	if err := checkMetricsListen(c.MetricsListen); err != nil {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	for _, l := range c.Listen {
		if l == c.MetricsListen && !strings.HasSuffix(l, ":0") {
			return fmt.Errorf("--metrics-listen %s is also a --listen address: give the "+
				"metrics their own port", l)
		}
	}
	return nil
}

// isHostPort says whether addr is HOST:PORT with a port number (the host may be empty).
func isHostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	return err == nil
}

// checkMetricsListen checks a --metrics-listen address.
func checkMetricsListen(addr string) error {
	if !isHostPort(addr) {
		return fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:9100 (bind it to loopback or a "+
			"private interface)", addr)
	}
	return nil
}

// checkTimeouts checks the process-wide timeouts (the request's are in Limits).
func (c Config) checkTimeouts() error {
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s: must not be negative", c.ShutdownTimeout)
	}
	if c.DeadlockTimeout < 0 {
		return fmt.Errorf("--deadlock-timeout %s: must not be negative (0 switches it off)",
			c.DeadlockTimeout)
	}
	return nil
}

// checkLimits refuses negative limits (zero switches one off).
func checkLimits(l request.Limits) error {
	for _, v := range []struct {
		flag string
		n    int64
	}{
		{"--max-header-bytes", int64(l.MaxHeaderBytes)}, {"--max-header-fields", int64(l.MaxHeaderFields)},
		{"--max-request-line", int64(l.MaxRequestLine)}, {"--max-body-size", l.MaxBodyBytes},
		{"--body-memory", l.BodyMemory}, {"--stream-buffer", l.StreamBuffer},
		{"--stream-buffer-memory", l.StreamBufferMemory}, {"--header-timeout", int64(l.HeaderTimeout)},
		{"--body-timeout", int64(l.BodyIdleTimeout)}, {"--keepalive-timeout", int64(l.KeepAliveTimeout)},
		{"--write-timeout", int64(l.WriteTimeout)}, {"--request-timeout", int64(l.RequestTimeout)},
		{"--interrupt-timeout", int64(l.InterruptTimeout)}, {"--queue-timeout", int64(l.QueueTimeout)},
	} {
		if v.n < 0 {
			return fmt.Errorf("%s: must not be negative (0 switches the limit off)", v.flag)
		}
	}
	return nil
}

// checkApps checks what is served: one app or static alias per URL prefix, and interpreter
// pools only where the application groups and the GIL mode can hold them.
func (c Config) checkApps() error {
	if c.Interpreters < 1 {
		return fmt.Errorf("--interpreters %d: need at least 1", c.Interpreters)
	}
	if err := checkAppGroup(c.AppGroup); err != nil {
		return fmt.Errorf("--application-group %s: %w", c.AppGroup, err)
	}
	seen := map[string]bool{}
	for _, m := range c.AllMounts() {
		if seen[m.Prefix] {
			return fmt.Errorf("two apps mounted at %s", m.Prefix)
		}
		seen[m.Prefix] = true
		if err := checkAppGroup(m.AppGroup); err != nil {
			return fmt.Errorf("the app mounted at %s: %w", m.Prefix, err)
		}
		if c.Interpreters > 1 && m.AppGroup == AppGroupGlobal {
			return fmt.Errorf("--interpreters %d needs sub-interpreters, but the app at %s runs "+
				"in %s, the one main interpreter: use --application-group %s (or any name)",
				c.Interpreters, m.Prefix, AppGroupGlobal, AppGroupResource)
		}
	}
	for _, a := range c.Static {
		if err := checkStatic(a, seen); err != nil {
			return err
		}
		seen[a.Prefix] = true
	}
	if c.Interpreters > 1 && c.GIL == gil.Shared {
		return fmt.Errorf("--interpreters %d with --gil shared: the interpreters would take "+
			"turns on one GIL and gain nothing; use --gil own (Python ≥ 3.12) or --gil free",
			c.Interpreters)
	}
	return nil
}
