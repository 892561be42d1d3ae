package pyhost

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pyhost/pyhost/pyhost/bench"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/observe/top"
	"github.com/pyhost/pyhost/pyhost/proc"
	"github.com/pyhost/pyhost/pyhost/server"
	"github.com/pyhost/pyhost/pyhost/supervisor"
	"github.com/pyhost/pyhost/pyhost/systemd"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// Version is pyhost's own version (set with -ldflags "-X ...pyhost.Version=...").
var Version = "0.1.0-dev"

const usage = `pyhost — serve Python WSGI applications from one Go binary with CPython embedded.

Usage:
  pyhost serve APP [flags]     serve APP: path/to/app.py (callable "application") or
                               package.module:callable (gunicorn style; "module:factory()" calls
                               a factory)
  pyhost check APP [flags]     import APP in a throwaway interpreter of a GIL mode and report,
                               per extension module, its init kind, what it declares and whether
                               CPython runs it there (exit 1 if the app cannot run in that mode);
                               takes --gil, --application-group %{GLOBAL}, --json,
                               --python-path, --chdir, --callable
  pyhost serve --config FILE [flags]
                               serve what a config file (TOML) declares; flags given beside
                               it override the file's value of that key
  pyhost serve --print-config [APP] [flags]
                               print the configuration serve would run, each value with
                               where it came from (flag, env PYHOST_X, FILE:LINE, default);
                               starts nothing (exit 2 and the problem when it is wrong)
  pyhost check-config FILE     validate a config file without starting anything (exit 2 and
                               every problem with its line when it is wrong)
  pyhost import-apache FILE    write the config file equivalent to an Apache mod_wsgi snippet
                               (WSGIDaemonProcess, WSGIScriptAlias, ...) to stdout
  pyhost top [--metrics ADDR]  a live view of a running server (its --metrics-listen ADDR):
                               per group and worker requests/s, latency, GIL wait, busy
                               threads and the longest-running requests; --once prints once
  pyhost bench APP [flags]     serve APP in each GIL mode (shared, own, free), thread and
                               process count, one at a time, load it with a built-in
                               generator and compare req/s, latency, CPU and memory per
                               request, GIL wait; --pyhost BIN adds other builds (3.13t);
                               --json/--html FILE write reports; pyhost bench -h for the rest
  pyhost version               pyhost's version and the linked Python's version and build
  pyhost help                  this text

Application groups (mod_wsgi's WSGIApplicationGroup): %{GLOBAL} is the main interpreter;
%{SERVER} one sub-interpreter per listener (its host:port); %{RESOURCE} one per listener and
mount (host:port|SCRIPT_NAME); any other name a sub-interpreter of that name (another
%{...}, such as the typo %{GLOBALS}, is refused). Apps in one group
share module globals; different groups do not. Only %{GLOBAL} can import extension modules
that do not support sub-interpreters (NumPy and other single-phase-init modules).
auto (--application-group auto, ,group=auto, application-group = "auto") puts each mount's
app in the most isolated interpreter its extension modules allow, tried with a real import in
a probe process: --gil own: own-GIL sub-interpreters, else a shared-GIL one, else %{GLOBAL};
--gil shared: a shared-GIL sub-interpreter, else %{GLOBAL}; --gil free: %{GLOBAL} (with
--interpreters K > 1, K sub-interpreters first). A log record says where each app went and
which module kept it out of the more isolated place. A module that loads in one interpreter
per process (Cython < 3.1, NumPy 2; found by loading it again in the probe) sends every app
that imports it to %{GLOBAL}.

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

systemd: sockets a socket unit passes (LISTEN_FDS) replace --listen; with NOTIFY_SOCKET set,
serve sends READY=1 once the apps are loaded (every worker's, with --processes), RELOADING=1
then READY=1 around a SIGHUP reload, STOPPING=1 at shutdown, STATUS= lines, and WATCHDOG=1 when
WatchdogSec= asks. Units to install: deploy/systemd/ (README, "systemd").

Sizes (--max-body-size, --memory-limit, ...) mean what they say: kB, MB, GB, TB (and K, M,
G, T alone) are powers of 1000, KiB, MiB, GiB, TiB powers of 1024: 100MB is 100,000,000
bytes, 100MiB is 104,857,600; a bare number is bytes; decimals are allowed (1.5GiB).

Development: --reload (or reload = true in a [group.NAME] table) watches the app's *.py files
(the script's folder, --chdir or the current folder, --python-path entries outside
site-packages and virtualenvs; hidden folders and __pycache__ left out) through inotify and,
once a burst of changes settles, reloads as SIGHUP does: the old code serves until the new
code imports, and an import error is logged while the old code keeps serving; the next change
tries again (no retries, no --boot-attempts limit). Without --processes it runs one worker
under a supervisor (wsgi.multiprocess stays false); with --processes N all N reload. Not for
production: a stray save reloads the server.

Environment: every flag of serve is also PYHOST_ and its name in upper case with dashes as
underscores: PYHOST_THREADS=16, PYHOST_LISTEN=0.0.0.0:8000, PYHOST_MAX_BODY_SIZE=10MiB;
PYHOST_CONFIG=FILE stands for --config FILE. A repeatable flag takes its values separated by
spaces (PYHOST_LISTEN="0.0.0.0:8000 [::]:8000"); a boolean true/false, 1/0, yes/no or on/off;
an empty variable counts as unset. A flag beats its variable, which beats the config file,
which beats the default. A PYHOST_ variable that looks like a misspelt flag (PYHOST_THREDS),
an alias (PYHOST_BIND) or --timeout is refused; PYHOST_WORKER* (pyhost's workers) and
PYHOST_TEST_* are not flags, and other PYHOST_ names are left alone.

Familiar names: -b/--bind is --listen, -w/--workers is --processes (a supervisor and N workers),
--max-requests[-jitter] is --maximum-requests[-jitter]; on the command line only (PYHOST_
variables and config files say pyhost's name). gunicorn's --timeout is refused (see
--request-timeout, --deadlock-timeout, --shutdown-timeout); its --graceful-timeout (time to
finish requests on a stop or reload) is --shutdown-timeout here, and pyhost's --graceful-timeout
is for recycled workers only.

Unix sockets (the usual way behind nginx): --listen unix:/run/pyhost/pyhost.sock, beside or
instead of HOST:PORT, also in a config file's listen list. A stale socket file (nobody accepts
on it) is replaced; a live one, or a path that is not a socket, is refused; the file is removed
at a clean exit, kept across a reload. Under --processes the supervisor binds it and, started
as root, gives it to --user/--group; a single process binds it after becoming --user, so its
folder must be writable by that user. --socket-mode 0660 sets its permissions (default: the
umask's). On it REMOTE_ADDR is empty (a Unix peer has no address), SERVER_NAME/SERVER_PORT
come from Host (localhost and 80 without one).

Flags of serve:
`

// Main runs the pyhost command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		config.ServeFlags(&config.Config{}, stderr).PrintDefaults()
		return 2
	}
	switch args[0] {
	case "serve":
		if rest, ok := config.CutPrintConfig(args[1:]); ok {
			return printConfig(rest, stdout, stderr)
		}
		return serve(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case server.PlaceProbeCommand:
		return server.PlaceProbe(args[1:], stdout)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "import-apache":
		return importApache(args[1:], stdout, stderr)
	case "top":
		return top.Run(args[1:], stdout, stderr)
	case "bench":
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(stderr, "pyhost bench: finding this binary:", err)
			return 1
		}
		return bench.Run(args[1:], self, stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
		return 0
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		config.ServeFlags(&config.Config{}, stdout).PrintDefaults()
		return 0
	default:
		fmt.Fprintf(stderr, "pyhost: unknown command %q; run pyhost help\n", args[0])
		return 2
	}
}

func printVersion(w io.Writer) {
	build := "with the GIL"
	if server.LinkedBuild().FreeThreaded {
		build = "free-threaded (PEP 703)"
	}
	fmt.Fprintf(w, "pyhost %s\nPython %s\nbuild: %s\nlibpython: %s\n", Version,
		server.PythonVersion(), build, server.Libpython())
}

func serve(args []string, stderr io.Writer) int {
	cfg, err := config.ParseServe(args, stderr, server.LinkedBuild())
	if errors.Is(err, config.ErrSeveralProcessGroups) {
		return serveGroups(args, stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = proc.CheckRoot(cfg.User, cfg.UnixGroup, cfg.AllowRoot)
	}
	if err != nil {
		printStartError(stderr, "serve", err)
		return 2
	}
	log, err := observe.NewLogger(cfg.Logs, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if env, isWorker, err := worker.LookupEnv(); isWorker {
		// As the supervisor names this worker, and its metrics label it.
		log := log.With("worker", env.Slot, "pid", os.Getpid(),
			"process_group", config.ProcessGroupName(cfg.ProcessGroup))
		if err == nil {
			err = proc.DropPrivileges(cfg.User, cfg.UnixGroup)
		}
		if err != nil {
			log.Error("pyhost worker could not start", "error", err)
			return 1
		}
		env.WatchSupervisor(log)
		if err := proc.BindCPUs(cfg.CPUAffinity, env.Slot, log); err != nil {
			log.Error("pyhost worker could not start", "error", err)
			return 1
		}
		return server.WorkerMain(cfg, env, log)
	}
	if !takeSystemd(log) {
		return 1
	}
	return withPIDFile(cfg.PidFile, log, func() int {
		if cfg.Processes > 0 || cfg.Reload { // --reload alone: one worker, reloaded on a change
			return supervisor.Run(cfg, args, log)
		}
		if err := proc.DropPrivileges(cfg.User, cfg.UnixGroup); err != nil {
			log.Error("pyhost could not start", "error", err)
			return 1
		}
		if err := proc.BindCPUs(cfg.CPUAffinity, 0, log); err != nil {
			log.Error("pyhost could not start", "error", err)
			return 1
		}
		return server.Main(cfg, log)
	})
}

// takeSystemd takes what systemd passed (sockets, NOTIFY_SOCKET, the watchdog) and removes its
// variables from the environment, before any worker or Python starts (pyhost/systemd).
func takeSystemd(log *slog.Logger) bool {
	if _, err := systemd.Take(); err != nil {
		log.Error("pyhost could not start: systemd passed what it cannot use", "error", err)
		return false
	}
	return true
}

// withPIDFile runs serve's own process (the supervisor, or the one process) with its pid
// written to path (--pid-file; "": none) and removed when run returns, whether it stopped
// cleanly, on a signal, or on an error. A pid file naming a running process stops the start.
func withPIDFile(path string, log *slog.Logger, run func() int) int {
	if path == "" {
		return run()
	}
	pf, err := proc.WritePIDFile(path, log)
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	defer pf.Remove(log)
	return run()
}

// printConfig is serve --print-config: the configuration and its sources, nothing started.
func printConfig(args []string, stdout, stderr io.Writer) int {
	err := config.PrintServeConfig(args, stdout, stderr, server.LinkedBuild())
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return 0
}

// serveGroups is serve --config FILE for a file of several process groups: the supervisor
// and its router, or (in a worker) the one group the supervisor names.
func serveGroups(args []string, stderr io.Writer) int {
	f, cfgs, _, err := config.ParseServeProcessGroups(args, stderr, server.LinkedBuild())
	if err == nil {
		for _, c := range cfgs {
			if err = proc.CheckRoot(c.User, c.UnixGroup, c.AllowRoot); err != nil {
				break
			}
		}
	}
	if err != nil {
		printStartError(stderr, "serve", err)
		return 2
	}
	// The supervisor logs as the first group says; each worker as its own group says.
	logs := cfgs[0].Logs
	env, isWorker, envErr := worker.LookupEnv()
	if isWorker {
		for i, g := range f.ProcessGroups {
			if g.Name == env.Group {
				logs = cfgs[i].Logs
			}
		}
	}
	log, err := observe.NewLogger(logs, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !isWorker {
		if !takeSystemd(log) {
			return 1
		}
		// Static aliases given on the command line join the file's, in the router.
		f.Static = append(f.Static, cfgs[0].Static...)
		return withPIDFile(cfgs[0].PidFile, log, func() int {
			return supervisor.RunProcessGroups(f, cfgs, args, log)
		})
	}
	if envErr != nil {
		log.Error("pyhost worker could not start", "error", envErr)
		return 1
	}
	for i, g := range f.ProcessGroups {
		if g.Name != env.Group {
			continue
		}
		cfg := cfgs[i]
		cfg.Static = nil // the supervisor's front serves them
		cfg.Listen = nil // it serves the supervisor's inherited socket, not these (listenRouted)
		if err := proc.DropPrivileges(cfg.User, cfg.UnixGroup); err != nil {
			log.Error("pyhost worker could not start", "process_group", env.Group, "error", err)
			return 1
		}
		env.WatchSupervisor(log)
		return server.WorkerMain(cfg, env, log.With("worker", env.Slot, "pid", os.Getpid(),
			"process_group", env.Group))
	}
	fmt.Fprintf(stderr, "pyhost worker: process group %q is not one of %s\n", env.Group, f.Path)
	return 2
}

// printStartError prints why a command did not start: a refused flag as the error and one
// hint (not the whole usage, which would bury it), anything else as it is.
func printStartError(stderr io.Writer, cmd string, err error) {
	var usage *config.UsageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "pyhost %s: %v\n%s\n", cmd, err, config.UsageHint)
		return
	}
	fmt.Fprintln(stderr, err)
}
