// Package pyhost is the server: configuration, the embedded runtime's lifecycle, application
// groups, listeners and graceful shutdown.
package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Application-group patterns, as mod_wsgi's WSGIApplicationGroup spells them.
const (
	AppGroupGlobal   = "%{GLOBAL}"   // the main interpreter (subinterp.Global; a server test holds them equal)
	AppGroupServer   = "%{SERVER}"   // one per listener: its host:port
	AppGroupResource = "%{RESOURCE}" // one per listener and mount: host:port|SCRIPT_NAME
)

// Mount is a WSGI app served under a URL prefix.
type Mount struct {
	Prefix   string // "/" or "/path" (no trailing slash)
	App      string // path/to/app.py or package.module[:callable]
	Callable string
	AppGroup string // application group pattern; "" = the server's --application-group
}

// Config is everything `pyhost serve` takes.
type Config struct {
	App             string   // path/to/app.py or package.module[:callable], mounted at /
	Callable        string   // WSGI callable name in a script ("" = application)
	Mounts          []Mount  // more apps under URL prefixes (--mount)
	Listen          []string // HOST:PORT, one listener each
	Threads         int      // request threads: requests running Python at once
	PythonPath      []string
	PythonHome      string
	Chdir           string
	ShutdownTimeout time.Duration
	GIL             gil.Mode
	AppGroup        string // "" = %{GLOBAL}, or %{RESOURCE} under --gil own
	Interpreters    int    // interpreters per sub-interpreter group (a pool when > 1)
	Preload         bool   // create groups and load apps at start, not on first request
	// DeadlockTimeout: an interpreter whose GIL cannot be taken for this long is reported
	// for recycling (0: not watched).
	DeadlockTimeout time.Duration
	// Processes is --processes: 0 when omitted (one process, no supervisor, as mod_wsgi's
	// embedded mode), else the number of worker processes under a supervisor. Given at all, it
	// makes wsgi.multiprocess true, even for 1 (the seed's rule).
	Processes int
	// Limits bound each request and connection (--max-*, --*-timeout, --body-*); zero
	// values switch a limit off. serve's flags start from request.DefaultLimits().
	Limits request.Limits
	// Recycle: when a worker of --processes is replaced (--maximum-requests, ...).
	Recycle Recycling
	// Logs: pyhost's own log, the access log and request ids (--log-format, --access-log...).
	Logs LogConfig
	// Static are URL aliases served by Go from folders (--static, [[static]]).
	Static []StaticAlias
	// User and UnixGroup: started as root, the process that runs Python becomes them first.
	User, UnixGroup string
	// AllowRoot lets apps run as root (refused otherwise).
	AllowRoot bool
	// CPUAffinity binds each worker process (or the one process) to this many CPUs, round
	// robin by worker slot (0: not bound). See affinity.go.
	CPUAffinity int
	// GoProcs is --go-procs: "auto" lets each worker among siblings size Go's scheduler to
	// its requests (goprocs.go); "" or "all" leaves Go's own sizing.
	GoProcs string
	// HTTPServer is --http-server: "fast" or "" (plain requests served by pyhost's own HTTP/1
	// path, the rest by net/http: fastserver.go) or "stdlib" (net/http for every request).
	HTTPServer string
	// DisplayName is the worker processes' name in ps and top (their argv[0]).
	DisplayName string
	// ProcessGroup is the name of the config file's process group this configuration runs
	// ("" for serve's command line); apps read it as _pyhost.process_group.
	ProcessGroup string
	// MetricsListen is --metrics-listen: where /metrics, /healthz and /readyz are served
	// ("" : nowhere, and no metrics are kept). Under --processes the supervisor serves them.
	MetricsListen string
	// Routed, set only in a worker behind the supervisor's router (several process groups),
	// holds the public listener addresses; the worker's one inherited listener is then a
	// Unix socket on which the supervisor forwards their requests.
	Routed []string
}

// DefaultListen is where pyhost serves when no --listen is given.
const DefaultListen = "127.0.0.1:8000"

// DefaultGroup is the application group used when none is named: %{GLOBAL}, where every
// extension module loads (as mod_wsgi-express does), except under --gil own, whose point is
// sub-interpreters.
func DefaultAppGroup(mode gil.Mode) string {
	if mode == gil.Own {
		return AppGroupResource
	}
	return AppGroupGlobal
}

// ParseMount reads --mount PREFIX=APP[,group=NAME].
func ParseMount(s string) (Mount, error) {
	prefix, app, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(prefix, "/") || app == "" {
		return Mount{}, fmt.Errorf("--mount %q: want /PREFIX=APP[,group=NAME], e.g. "+
			"--mount /api=api.py,group=api", s)
	}
	m := Mount{Prefix: prefix, App: app}
	if i := strings.LastIndex(app, ",group="); i >= 0 {
		m.App, m.AppGroup = app[:i], app[i+len(",group="):]
		if m.AppGroup == "" {
			return Mount{}, fmt.Errorf("--mount %q: empty group name", s)
		}
	}
	if m.Prefix != "/" {
		m.Prefix = strings.TrimRight(m.Prefix, "/")
	}
	return m, nil
}

// Validate checks the configuration before anything starts; build is the linked Python.
func (c *Config) Validate(build gil.Build) error {
	if c.App == "" && len(c.Mounts) == 0 {
		return errors.New("no application: give a WSGI script (app.py) or module:callable, " +
			"e.g. pyhost serve app.py")
	}
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
	if len(c.Listen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if c.MetricsListen != "" {
		if err := checkMetricsListen(c.MetricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		for _, l := range c.Listen {
			if l == c.MetricsListen && !strings.HasSuffix(l, ":0") {
				return fmt.Errorf("--metrics-listen %s is also a --listen address: give the "+
					"metrics their own port", l)
			}
		}
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s: must not be negative", c.ShutdownTimeout)
	}
	if c.DeadlockTimeout < 0 {
		return fmt.Errorf("--deadlock-timeout %s: must not be negative (0 switches it off)",
			c.DeadlockTimeout)
	}
	if err := checkLimits(c.Limits); err != nil {
		return err
	}
	if err := c.Recycle.check(c.Processes); err != nil {
		return err
	}
	if err := c.Logs.check(); err != nil {
		return err
	}
	if c.GIL == "" {
		c.GIL = gil.Shared
	}
	if err := c.GIL.Check(build); err != nil {
		return err
	}
	if c.AppGroup == "" {
		c.AppGroup = DefaultAppGroup(c.GIL)
	}
	if c.Interpreters < 1 {
		return fmt.Errorf("--interpreters %d: need at least 1", c.Interpreters)
	}
	seen := map[string]bool{}
	for _, m := range c.AllMounts() {
		if seen[m.Prefix] {
			return fmt.Errorf("two apps mounted at %s", m.Prefix)
		}
		seen[m.Prefix] = true
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

// AllMounts is the positional app (at /) followed by the --mount apps, each with its group
// pattern filled in.
func (c *Config) AllMounts() []Mount {
	var all []Mount
	if c.App != "" {
		all = append(all, Mount{Prefix: "/", App: c.App, Callable: c.Callable})
	}
	all = append(all, c.Mounts...)
	for i := range all {
		if all[i].AppGroup == "" {
			all[i].AppGroup = c.AppGroup
		}
	}
	return all
}

// GroupName resolves a group pattern for a listener address and a mount's SCRIPT_NAME.
func AppGroupName(pattern, listenAddr, scriptName string) string {
	switch pattern {
	case AppGroupServer:
		return listenAddr
	case AppGroupResource:
		return listenAddr + "|" + scriptName
	}
	return pattern
}

// checkMetricsListen checks a --metrics-listen address.
func checkMetricsListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:9100 (bind it to loopback or a "+
			"private interface)", addr)
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

// The values of --http-server: who reads requests and writes responses.
const (
	HTTPServerFast   = "fast"   // pyhost's own HTTP/1 path for plain requests (the default)
	HTTPServerStdlib = "stdlib" // net/http for every request
)
