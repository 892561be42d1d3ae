package pyhost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/cgo"
)

// Version is pyhost's own version (set with -ldflags "-X ...pyhost.Version=...").
var Version = "0.1.0-dev"

const usage = `pyhost — serve Python WSGI applications from one Go binary with CPython embedded.

Usage:
  pyhost serve APP [flags]     serve APP: path/to/app.py (callable "application") or
                               package.module:callable (gunicorn style; "module:factory()" calls
                               a factory)
  pyhost version               pyhost's version and the linked Python's version and build
  pyhost help                  this text

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
	if cgo.FreeThreaded() {
		build = "free-threaded (PEP 703)"
	}
	fmt.Fprintf(w, "pyhost %s\nPython %s\nbuild: %s\n", Version,
		strings.ReplaceAll(cgo.Version(), "\n", " "), build)
}

// parseServe accepts flags before and after the APP argument, as people type them.
func parseServe(args []string, stderr io.Writer) (Config, error) {
	var cfg Config
	fs := serveFlags(&cfg, stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return cfg, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(positional) {
	case 0:
		return cfg, errors.New("pyhost serve: which app? e.g. pyhost serve app.py")
	case 1:
		cfg.App = positional[0]
	default:
		return cfg, fmt.Errorf("pyhost serve: one app at a time, got %q", positional)
	}
	return cfg, cfg.Validate()
}

func serve(args []string, stderr io.Writer) int {
	cfg, err := parseServe(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := New(cfg, log)
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("pyhost stopped with an error", "error", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}
