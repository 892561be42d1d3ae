package pyhost

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/observe/top"
	"github.com/pyhost/pyhost/pyhost/proc"
	"github.com/pyhost/pyhost/pyhost/server"
	"github.com/pyhost/pyhost/pyhost/supervisor"
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
		return serve(args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "check-config":
		return checkConfig(args[1:], stdout, stderr)
	case "import-apache":
		return importApache(args[1:], stdout, stderr)
	case "top":
		return top.Run(args[1:], stdout, stderr)
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
		fmt.Fprintln(stderr, err)
		return 2
	}
	log, err := observe.NewLogger(cfg.Logs, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if env, isWorker, err := worker.LookupEnv(); isWorker {
		log := log.With("worker", env.Slot, "pid", os.Getpid())
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
	if cfg.Processes > 0 {
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
		fmt.Fprintln(stderr, err)
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
		// Static aliases given on the command line join the file's, in the router.
		f.Static = append(f.Static, cfgs[0].Static...)
		return supervisor.RunProcessGroups(f, cfgs, args, log)
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
			log.Error("pyhost worker could not start", "group", env.Group, "error", err)
			return 1
		}
		env.WatchSupervisor(log)
		return server.WorkerMain(cfg, env, log.With("worker", env.Slot, "group", env.Group,
			"pid", os.Getpid()))
	}
	fmt.Fprintf(stderr, "pyhost worker: process group %q is not one of %s\n", env.Group, f.Path)
	return 2
}
