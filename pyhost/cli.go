package pyhost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/httpd"
)

// Version is pyhost's own version (set with -ldflags "-X ...pyhost.Version=...").
var Version = "0.1.0-dev"

const usage = `pyhost — serve Python WSGI applications from one Go binary with CPython embedded.

Usage:
  pyhost serve APP [flags]     serve APP: path/to/app.py (callable "application") or
                               package.module:callable (gunicorn style; "module:factory()" calls
                               a factory)
  pyhost check APP [flags]     import APP in a throwaway interpreter of a GIL mode and report,
                               per extension module, whether it loads there (exit 1 if the app
                               cannot run in that mode); takes --gil, --python-path, --chdir,
                               --callable
  pyhost serve --config FILE [flags]
                               serve what a config file (TOML) declares; flags given beside
                               it override the file's value of that key
  pyhost check-config FILE     validate a config file without starting anything (exit 2 and
                               every problem with its line when it is wrong)
  pyhost import-apache FILE    write the config file equivalent to an Apache mod_wsgi snippet
                               (WSGIDaemonProcess, WSGIScriptAlias, ...) to stdout
  pyhost top [--metrics ADDR]  a live view of a running server (its --metrics-listen ADDR):
                               per group and worker requests/s, latency, GIL wait, busy
                               threads and the longest-running requests; --once prints once
  pyhost version               pyhost's version and the linked Python's version and build
  pyhost help                  this text

Application groups (mod_wsgi's WSGIApplicationGroup): %{GLOBAL} is the main interpreter;
%{SERVER} one sub-interpreter per listener (its host:port); %{RESOURCE} one per listener and
mount (host:port|SCRIPT_NAME); any other name a sub-interpreter of that name. Apps in one group
share module globals; different groups do not. Only %{GLOBAL} can import extension modules
that do not support sub-interpreters (NumPy and other single-phase-init modules).

GIL modes: shared (default; every interpreter on one GIL; CPython ≥ 3.11), own (PEP 684: each
sub-interpreter its own GIL; ≥ 3.12), free (PEP 703 free-threaded build, 3.13t: no GIL).

Processes: with --processes N, serve is a supervisor that binds the listeners (and never starts
Python) and runs N worker processes accepting on them; a worker that dies is replaced, one
whose app cannot load is retried with back-off, --boot-attempts times (then the
supervisor exits 3). SIGTERM/SIGINT stop every worker gracefully;
SIGHUP reloads the code (new workers first, then the old ones drain); SIGUSR1 reopens the
log files (--access-log, --error-log) in the supervisor and every worker, for logrotate. wsgi.multiprocess is true
whenever --processes is given. A config file with several [group.NAME] tables runs each
group's own workers; the supervisor then accepts on the listeners and routes each request by
its URL prefix to its group's workers over Unix sockets, and serves static aliases itself.
Started as root, workers run apps as --user/--group; apps never run as root without
--allow-root.

Flags of serve:
`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func serveFlags(cfg *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*stringList)(&cfg.Listen), "listen",
		"HOST:PORT to listen on; repeat for several (default "+DefaultListen+")")
	fs.IntVar(&cfg.Threads, "threads", 8,
		"request threads: at most this many requests run Python at once, the rest wait")
	fs.StringVar(&cfg.Callable, "callable", "", "name of the WSGI callable in a script "+
		"(default application)")
	fs.Var((*stringList)(&cfg.PythonPath), "python-path",
		"directory to prepend to sys.path; repeatable")
	fs.StringVar(&cfg.PythonHome, "python-home", "",
		"Python prefix or virtualenv to run with (its site-packages become importable)")
	fs.StringVar(&cfg.Chdir, "chdir", "", "change to this directory before loading the app")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second,
		"on SIGTERM/SIGINT, how long in-flight requests may take to finish")
	fs.Func("gil", "GIL mode: shared, own (Python ≥ 3.12) or free (free-threaded 3.13t build)",
		func(v string) (err error) { cfg.GIL, err = gil.ParseMode(v); return err })
	fs.StringVar(&cfg.ApplicationGroup, "application-group", "", "application group of the "+
		"app: %{GLOBAL}, %{SERVER}, %{RESOURCE} or a name (default %{GLOBAL}; %{RESOURCE} "+
		"under --gil own)")
	fs.IntVar(&cfg.Interpreters, "interpreters", 1, "interpreters per sub-interpreter "+
		"group; with K > 1 (--gil own or free) each loads the app and a request goes to the "+
		"least busy, so one process uses K cores")
	fs.BoolVar(&cfg.Preload, "preload", false, "create application groups and load their "+
		"apps at start instead of on the first request")
	fs.Func("processes", "serve from N worker processes under a supervisor that binds the "+
		"listeners and restarts workers that die; SIGHUP reloads the code without refusing a "+
		"request (omitted: one process, no supervisor)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a number of worker processes ≥ 1, got %q", v)
		}
		cfg.Processes = n
		return nil
	})
	fs.IntVar(&cfg.CPUAffinity, "cpu-affinity", 0, "bind each worker process (or the one "+
		"process) to N CPUs, worker i to the i-th N of them round robin; helps when the server "+
		"has the cores to itself, hurts when other work shares them (0: not bound)")
	fs.Func("go-procs", "Go processors of each worker: all (every core, as Go sizes itself; "+
		"the default) or auto (with --processes N ≥ 2: cores ÷ N while requests stay under "+
		"50 µs in Python, all above 100 µs; less CPU per request on tiny requests, a longer "+
		"latency tail when other work competes for the cores)", func(v string) error {
		if v != "all" && v != "auto" {
			return fmt.Errorf("want all or auto, got %q", v)
		}
		cfg.GoProcs = v
		return nil
	})
	fs.Func("http-server", "who reads requests and writes responses: fast (the default: "+
		"pyhost's own HTTP/1 path for requests without a body, net/http for the rest of a "+
		"connection from its first other request) or stdlib (net/http for every request)",
		func(v string) error {
			if v != httpd.ServerFast && v != httpd.ServerStdlib {
				return fmt.Errorf("want %s or %s, got %q", httpd.ServerFast, httpd.ServerStdlib, v)
			}
			cfg.HTTPServer = v
			return nil
		})
	limitFlags(fs, &cfg.Limits)
	recycleFlags(fs, &cfg.Recycle)
	logFlags(fs, &cfg.Logs)
	fs.Func("static", "serve the files of DIR at a URL prefix, from Go (no Python): "+
		"/PREFIX=DIR; repeatable; no directory listings, no dotfiles", func(v string) error {
		a, err := ParseStatic(v)
		cfg.Static = append(cfg.Static, a)
		return err
	})
	fs.StringVar(&cfg.User, "user", "", "started as root, run the app as this user (name or "+
		"uid): workers drop to it before loading Python")
	fs.StringVar(&cfg.Group, "group", "", "started as root, run the app with this group "+
		"(default: the --user's own group)")
	fs.BoolVar(&cfg.AllowRoot, "allow-root", false, "let the app run as root (refused "+
		"otherwise when pyhost is started as root without --user)")
	fs.StringVar(&cfg.DisplayName, "display-name", "", "the worker processes' name in ps "+
		"and top (default: pyhost's path)")
	fs.DurationVar(&cfg.DeadlockTimeout, "deadlock-timeout", 0, "report the worker for "+
		"recycling when an interpreter's GIL cannot be taken for this long (0: not watched)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve Prometheus /metrics, "+
		"/healthz and /readyz on this HOST:PORT (off unless given; bind it to loopback or a "+
		"private interface: it tells anyone who can reach it about the server)")
	fs.Func("mount", "serve another app under a URL prefix: /PREFIX=APP[,group=NAME]; "+
		"repeatable", func(v string) error {
		m, err := ParseMount(v)
		cfg.Mounts = append(cfg.Mounts, m)
		return err
	})
	return fs
}

// Main runs the pyhost command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		serveFlags(&Config{}, stderr).PrintDefaults()
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "import-apache":
		return importApache(args[1:], stdout, stderr)
	case "top":
		return top(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		serveFlags(&Config{}, stdout).PrintDefaults()
		return 0
	default:
		fmt.Fprintf(stderr, "pyhost: unknown command %q; run pyhost help\n", args[0])
		return 2
	}
}

func printVersion(w io.Writer) {
	build := "with the GIL"
	if cgo.IsFreeThreadedBuild() {
		build = "free-threaded (PEP 703)"
	}
	fmt.Fprintf(w, "pyhost %s\nPython %s\nbuild: %s\nlibpython: %s\n", Version,
		strings.ReplaceAll(cgo.Version(), "\n", " "), build, libpythonLinkage())
}

// libpythonLinkage says whether libpython is linked into this binary or loaded from a shared
// library, and which.
func libpythonLinkage() string {
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

// parseInterspersed parses flags that come before, between and after the positional
// arguments (Go's flag package stops at the first of those), and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseServe accepts flags before and after the APP argument, as people type them.
func parseServe(args []string, stderr io.Writer) (Config, error) {
	if cfg, found, err := parseServeConfig(args, stderr); found {
		return cfg, err
	}
	var cfg Config
	fs := serveFlags(&cfg, stderr)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return cfg, err
	}
	switch len(positional) {
	case 0:
		if len(cfg.Mounts) > 0 {
			break
		}
		return cfg, errors.New("pyhost serve: which app? e.g. pyhost serve app.py")
	case 1:
		cfg.App = positional[0]
	default:
		return cfg, fmt.Errorf("pyhost serve: one app at / (add others with --mount /PREFIX=APP), got %q", positional)
	}
	return cfg, cfg.Validate(LinkedBuild())
}

func serve(args []string, stderr io.Writer) int {
	cfg, err := parseServe(args, stderr)
	if errors.Is(err, errSeveralGroups) {
		return serveGroups(args, stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = checkRoot(cfg)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log, err := newLogger(cfg.Logs, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if slot := os.Getenv(workerEnv); slot != "" {
		log := log.With("worker", slot, "pid", os.Getpid())
		n, _ := strconv.Atoi(slot)
		if err := dropPrivileges(cfg); err != nil {
			log.Error("pyhost worker could not start", "error", err)
			return 1
		}
		watchSupervisor(log)
		if err := applyCPUAffinity(cfg, n, log); err != nil {
			log.Error("pyhost worker could not start", "error", err)
			return 1
		}
		return runWorker(cfg, log)
	}
	if cfg.Processes > 0 {
		return supervise(cfg, args, log)
	}
	if err := dropPrivileges(cfg); err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	if err := applyCPUAffinity(cfg, 0, log); err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	return serveHere(cfg, log, nil, nil)
}

// serveGroups is serve --config FILE for a file of several process groups: the supervisor
// and its router, or (in a worker) the one group the supervisor names.
func serveGroups(args []string, stderr io.Writer) int {
	f, cfgs, _, err := parseServeGroups(args, stderr)
	if err == nil {
		for _, c := range cfgs {
			if err = checkRoot(c); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	// The supervisor logs as the first group says; each worker as its own group says.
	logs := cfgs[0].Logs
	if name := os.Getenv(workerGroupEnv); name != "" {
		for i, g := range f.Groups {
			if g.Name == name {
				logs = cfgs[i].Logs
			}
		}
	}
	log, err := newLogger(logs, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	slot := os.Getenv(workerEnv)
	if slot == "" {
		// Static aliases given on the command line join the file's, in the router.
		f.Static = append(f.Static, cfgs[0].Static...)
		return superviseGroups(f, cfgs, args, log)
	}
	name, routed := os.Getenv(workerGroupEnv), os.Getenv(workerRoutedEnv)
	os.Unsetenv(workerGroupEnv) // the app must not take itself for a worker
	os.Unsetenv(workerRoutedEnv)
	for i, g := range f.Groups {
		if g.Name != name {
			continue
		}
		cfg := cfgs[i]
		cfg.Static = nil // the router serves them
		cfg.Routed = strings.Split(routed, ",")
		cfg.Listen = []string{"unix"} // the supervisor's socket, inherited
		if err := dropPrivileges(cfg); err != nil {
			log.Error("pyhost worker could not start", "group", name, "error", err)
			return 1
		}
		watchSupervisor(log)
		return runWorker(cfg, log.With("worker", slot, "group", name, "pid", os.Getpid()))
	}
	fmt.Fprintf(stderr, "pyhost worker: %s=%q is not a process group of %s\n", workerGroupEnv,
		name, f.Path)
	return 2
}

// serveHere is the server in this process: the whole of pyhost without --processes, and each
// worker with it (inherited: the supervisor's sockets; link: what the worker tells the
// supervisor, nil for the single-process server).
func serveHere(cfg Config, log *slog.Logger, inherited []net.Listener, link *workerLink) int {
	// SIGHUP stops gracefully too: reloading the code needs worker processes to hand over to
	// (--processes); without them a process manager starts pyhost anew.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT,
		syscall.SIGHUP)
	defer stop()
	// After the first signal starts the graceful shutdown, a second one ends the process at
	// once (the default action), as with other servers.
	go func() { <-ctx.Done(); stop() }()
	var ml *metricsListener
	if cfg.MetricsListen != "" && link == nil { // a worker's supervisor serves them
		var err error
		if ml, err = listenMetrics(cfg.MetricsListen, log); err != nil {
			log.Error("pyhost could not start", "error", err)
			return 1
		}
		defer ml.close()
	}
	defer reopenOnSIGUSR1(log)()
	srv, err := newServer(cfg, log, inherited)
	if link != nil && link.loaded != nil {
		link.loaded(err)
	}
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	if link != nil {
		recycle := srv.recycling(link.recycle) // its reason is the apps' process_stopping reason too
		srv.RequestRecycle = recycle
		if link.control != nil {
			srv.serveControl(link.control, log)
		}
		if recycle != nil && cfg.Recycle.recycles() {
			defer srv.watchRecycling(cfg.Recycle, recycle)()
		}
	}
	if ml != nil {
		ml.serveProcess(srv, ctx)
	}
	var notFinalized *cgo.NotFinalizedError
	err = srv.Run(ctx)
	if link != nil && link.stopped != nil {
		link.stopped(srv)
	}
	switch {
	case errors.As(err, &notFinalized):
		log.Warn("stopped without finalising Python", "reason", err)
	case err != nil:
		log.Error("pyhost stopped with an error", "error", err)
		return 1
	default:
		log.Info("stopped cleanly")
	}
	return 0
}
