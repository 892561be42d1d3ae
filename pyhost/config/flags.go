package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/gil"
)

// StringList is a repeatable string flag.
type StringList []string

func (l *StringList) String() string     { return strings.Join(*l, ",") }
func (l *StringList) Set(v string) error { *l = append(*l, v); return nil }

// ServeFlags defines serve's flags on cfg, with their defaults, then the familiar names
// (aliases such as --bind). A config file's process groups are set through them too (their
// keys are these flags' names), and so are PYHOST_ variables (EnvVar, readEnv): a flag
// registered here has both at once. A repeatable flag is a StringList, or says
// "repeatable" in its usage (its variable then holds values separated by spaces).
func ServeFlags(cfg *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appFlags(fs, cfg)
	pythonFlags(fs, cfg)
	processFlags(fs, cfg)
	privilegeFlags(fs, cfg)
	httpFlags(fs, cfg)
	proxyFlags(fs, cfg)
	limitFlags(fs, &cfg.Limits)
	recycleFlags(fs, &cfg.Recycle)
	logFlags(fs, &cfg.Logs)
	devFlags(fs, cfg)
	addFamiliarNames(fs)
	return fs
}

// appFlags: what is served where (the app at / is serve's argument).
func appFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Callable, "callable", "", "name of the WSGI callable in a script "+
		"(default application)")
	fs.Func("mount", "serve another app under a URL prefix: /PREFIX=APP[,group=NAME]; "+
		"repeatable", func(v string) error {
		m, err := parseMount(v)
		cfg.Mounts = append(cfg.Mounts, m)
		return err
	})
	fs.Func("static", "serve the files of DIR at a URL prefix, from Go (no Python): "+
		"/PREFIX=DIR; repeatable; no directory listings, no dotfiles", func(v string) error {
		a, err := parseStatic(v)
		cfg.Static = append(cfg.Static, a)
		return err
	})
}

// pythonFlags: the embedded Python, its interpreters and the GIL.
func pythonFlags(fs *flag.FlagSet, cfg *Config) {
	fs.Var((*StringList)(&cfg.PythonPath), "python-path",
		"directory to prepend to sys.path; repeatable")
	fs.StringVar(&cfg.PythonHome, "python-home", "",
		"Python prefix or virtualenv to run with (its site-packages become importable)")
	fs.StringVar(&cfg.Chdir, "chdir", "", "change to this directory before loading the app")
	fs.Func("gil", "GIL mode: shared, own (Python ≥ 3.12) or free (free-threaded 3.13t build)",
		func(v string) (err error) { cfg.GIL, err = gil.ParseMode(v); return err })
	fs.StringVar(&cfg.AppGroup, "application-group", "", "application group of the "+
		"app: %{GLOBAL}, %{SERVER}, %{RESOURCE}, a name, or auto: the most isolated "+
		"interpreter the app's extension modules allow, tried at load and logged (default "+
		"%{GLOBAL}; %{RESOURCE} under --gil own)")
	fs.IntVar(&cfg.Interpreters, "interpreters", 1, "interpreters per sub-interpreter "+
		"group; with K > 1 (--gil own or free) each loads the app and a request goes to the "+
		"least busy, so one process uses K cores")
	fs.BoolVar(&cfg.Preload, "preload", false, "create application groups and load their "+
		"apps at start instead of on the first request")
	fs.DurationVar(&cfg.DeadlockTimeout, "deadlock-timeout", 0, "report the worker for "+
		"recycling when an interpreter's GIL cannot be taken for this long (0: not watched)")
}

// processFlags: the processes and threads that serve, and how they stop.
func processFlags(fs *flag.FlagSet, cfg *Config) {
	fs.IntVar(&cfg.Threads, "threads", 8,
		"request threads: at most this many requests run Python at once, the rest wait")
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
		"the default, plus one per request thread with --gil own or free and --threads ≥ 2) or auto (with --processes N ≥ 2: cores ÷ N while requests stay under "+
		"50 µs in Python, all above 100 µs; less CPU per request on tiny requests, a longer "+
		"latency tail when other work competes for the cores)", oneOf(&cfg.GoProcs, "all", "auto"))
	fs.StringVar(&cfg.DisplayName, "display-name", "", "the worker processes' name in ps "+
		"and top (default: pyhost's path)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second,
		"on SIGTERM/SIGINT, how long in-flight requests may take to finish (gunicorn's "+
			"--graceful-timeout)")
	fs.StringVar(&cfg.PidFile, "pid-file", "", "write the pid of the supervisor (with "+
		"--processes) or of the one process to this file, atomically; removed on exit; "+
		"refused at start if it names a running process (one naming a dead process is replaced)")
}

// privilegeFlags: whom the app runs as when pyhost is started as root.
func privilegeFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.User, "user", "", "started as root, run the app as this user (name or "+
		"uid): workers drop to it before loading Python")
	fs.StringVar(&cfg.UnixGroup, "group", "", "started as root, run the app with this group "+
		"(default: the --user's own group)")
	fs.BoolVar(&cfg.AllowRoot, "allow-root", false, "let the app run as root (refused "+
		"otherwise when pyhost is started as root without --user)")
}

// httpFlags: where requests come in, who reads them, and where metrics are served.
func httpFlags(fs *flag.FlagSet, cfg *Config) {
	fs.Var((*StringList)(&cfg.Listen), "listen",
		"HOST:PORT, or unix:PATH for a Unix socket, to listen on; repeat for several "+
			"(default "+DefaultListen+")")
	fs.Var(socketModeFlag{&cfg.SocketMode}, "socket-mode", socketModeUsage)
	fs.Func("http-server", "who reads requests and writes responses: fast (the default: "+
		"pyhost's own HTTP/1 path for requests without a body, net/http for the rest of a "+
		"connection from its first other request) or stdlib (net/http for every request)",
		oneOf(&cfg.HTTPServer, HTTPServerFast, HTTPServerStdlib))
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve Prometheus /metrics, "+
		"/healthz and /readyz on this HOST:PORT (off unless given; bind it to loopback or a "+
		"private interface: it tells anyone who can reach it about the server); series carry "+
		"process_group (\"default\" without a config file's groups; \"router\": the "+
		"requests the router of several groups answers itself) and worker (0, 1, ... in "+
		"its group, as the logs say worker=N)")
}

// ParseInterspersed parses flags that come before, between and after the positional
// arguments (Go's flag package stops at the first of those), and returns the positionals.
// A flag it refuses comes back as a *UsageError, printed by no one yet.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parseQuietly(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// ParseServe is `pyhost serve ARGS`: it accepts flags before and after the APP argument, as
// people type them, and reads the flags not given there from PYHOST_ variables (EnvVar).
func ParseServe(args []string, stderr io.Writer, build gil.Build) (Config, error) {
	cfg, _, err := parseServe(args, os.Environ(), stderr, build)
	return cfg, err
}

// parseServe is ParseServe in the environment environ; it also says where each flag's value
// came from. The order: flags, then the environment, then a config file, then the defaults.
func parseServe(args, environ []string, stderr io.Writer, build gil.Build) (Config, origins, error) {
	if cfg, got, found, err := parseServeConfig(args, environ, stderr, build); found {
		return cfg, got, err
	}
	var cfg Config
	fs := ServeFlags(&cfg, stderr)
	got, _, err := readCommandLine(args)
	if err == nil { // (else the parse below reports it, as it does without the environment)
		env, _, err := readEnv(fs, environ)
		if err == nil {
			err = env.apply(fs, got)
		}
		if err != nil {
			return cfg, nil, err
		}
		got = env.under(got)
	}
	positional, err := ParseInterspersed(fs, args)
	if err != nil {
		return cfg, got, err
	}
	switch len(positional) {
	case 0:
		if len(cfg.Mounts) > 0 {
			break
		}
		return cfg, got, errors.New("pyhost serve: which app? e.g. pyhost serve app.py")
	case 1:
		cfg.App = positional[0]
	default:
		return cfg, got, fmt.Errorf("pyhost serve: one app at / (add others with --mount /PREFIX=APP), got %q", positional)
	}
	return cfg, got, cfg.Validate(build)
}
