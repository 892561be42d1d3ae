package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Mount is a WSGI app served under a URL prefix.
type Mount struct {
	Prefix   string // "/" or "/path" (no trailing slash)
	App      string // path/to/app.py or package.module[:callable]
	Callable string
	AppGroup string // application group pattern; "" = the server's --application-group
}

// Config is everything `pyhost serve` takes, and what one process group of a config file
// runs. ServeFlags sets it from flags, LoadFile from a file; Validate (ApplyDefaults, then
// Check) readies it for use.
type Config struct {
	App             string   // path/to/app.py or package.module[:callable], mounted at /
	Callable        string   // WSGI callable name in a script ("" = application)
	Mounts          []Mount  // more apps under URL prefixes (--mount)
	Listen          []string // HOST:PORT or unix:PATH, one listener each
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
	// robin by worker slot (0: not bound). pyhost/proc binds them.
	CPUAffinity int
	// GoProcs is --go-procs: "auto" lets each worker among siblings size Go's scheduler to
	// its requests (pyhost/server does); "" or "all" leaves Go's own sizing.
	GoProcs string
	// HTTPServer is --http-server: "fast" or "" (plain requests served by pyhost's own HTTP/1
	// path, the rest by net/http: pyhost/httpd) or "stdlib" (net/http for every request).
	HTTPServer string
	// DisplayName is the worker processes' name in ps and top (their argv[0]).
	DisplayName string
	// ProcessGroup is the name of the config file's process group this configuration runs
	// ("" for serve's command line); apps read it as _pyhost.process_group.
	ProcessGroup string
	// MetricsListen is --metrics-listen: where /metrics, /healthz and /readyz are served
	// ("" : nowhere, and no metrics are kept). Under --processes the supervisor serves them.
	MetricsListen string
	// PidFile is --pid-file (the top-level pid-file key of a config file): where the
	// supervisor, or the one process, writes its pid ("" : nowhere).
	PidFile string
	// Reload is --reload: the supervisor watches the app's Python files and reloads its
	// workers when one changes (pyhost/supervisor's watch.go); a worker loads every app at
	// start then, so that it is ready only once all the new code imports.
	Reload bool
	// TrustedProxies is --trusted-proxy: whose proxy header fields are believed (pyhost/httpd
	// resolves them; under several process groups the supervisor's front does).
	TrustedProxies TrustedProxies
	// SocketMode is --socket-mode: the permissions of the unix:PATH listeners' socket files
	// (0: as the umask makes them).
	SocketMode os.FileMode
}

// DefaultListen is where pyhost serves when no --listen is given.
const DefaultListen = "127.0.0.1:8000"

// parseMount reads --mount PREFIX=APP[,group=NAME].
func parseMount(s string) (Mount, error) {
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

// The values of --http-server: who reads requests and writes responses.
const (
	HTTPServerFast   = "fast"   // pyhost's own HTTP/1 path for plain requests (the default)
	HTTPServerStdlib = "stdlib" // net/http for every request
)
