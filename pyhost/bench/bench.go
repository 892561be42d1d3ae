package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// options are bench's flags.
type options struct {
	app          string
	serveArgs    []string // after "--": passed to every serve
	load         load
	rounds       int
	readyTimeout time.Duration
	jsonFile     string
	htmlFile     string
}

const Usage = `Usage: pyhost bench APP [flags] [-- serve flags]

Serves APP under a matrix of configurations, one at a time, each a child pyhost on loopback
ports of its own, drives each with a built-in load generator and reports them side by side:
requests/s, latency percentiles, errors by kind, the server's CPU per request and memory (its
process tree, from /proc), GIL wait (from the server's own metrics) and, on a free-threaded
build, whether an extension switched the GIL back on.

The matrix: every mode the build has (shared, own with K interpreters on ≥ 3.12, free on a
free-threaded build, and worker processes of one thread each on a GIL build) at each
parallelism (1, 2, 4, ... up to the CPU count): threads for shared and free, interpreters for
own, processes for processes. --pyhost BIN (repeatable) benchmarks other pyhost builds in the
same run (a 3.13 and a 3.13t binary: the free-threading experiment in one command).

Flags after "--" go to every serve (--python-path DIR, --chdir DIR, ...).

pyhost bench --render FILE.json [--html OUT.html]: the table (and the HTML page) of an
earlier run's --json report, without running anything.

pyhost bench --load HOST:PORT [--rate R] [--concurrency N] [--pid PID] ...: drive a server
that is already running (any HTTP/1.1 server) and print what the generator saw as JSON
(pyhost bench --load -h).

Flags:
`

// Run is `pyhost bench`; self is this pyhost binary (benchmarked unless --pyhost is given).
func Run(args []string, self string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--render" || args[0] == "-render") {
		return render(args[1:], stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "--load" || args[0] == "-load") {
		return runLoadOnly(args[1:], stdout, stderr)
	}
	o, builds, cells, err := parseFlags(args, self, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "pyhost bench: %v\n", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	rep := newReport(o, builds, args)
	pr := newProgress(stderr)
	for round := 1; round <= o.rounds && ctx.Err() == nil; round++ {
		order := cells
		if round%2 == 0 { // alternate, so drift over the run does not favour the first cells
			order = make([]*cell, len(cells))
			for i, c := range cells {
				order[len(cells)-1-i] = c
			}
		}
		for _, c := range order {
			if ctx.Err() != nil {
				break
			}
			label := c.name()
			if o.rounds > 1 {
				label = fmt.Sprintf("round %d/%d %s", round, o.rounds, label)
			}
			pr.start(label)
			r := runCell(ctx, c, o, round, pr.update)
			pr.done(resultLine(r))
			rep.add(c, r)
		}
	}
	interrupted := ctx.Err() != nil
	cancel()
	rep.finish(interrupted)
	rep.writeTable(stdout)
	code := 0
	if err := rep.writeFiles(o.jsonFile, o.htmlFile); err != nil {
		fmt.Fprintf(stderr, "pyhost bench: %v\n", err)
		code = 1
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "pyhost bench: interrupted; the report holds the cells measured so far")
		return 130
	case rep.anyFailed():
		return 1
	}
	return code
}

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func parseFlags(args []string, self string, stderr io.Writer) (*options, []*build, []*cell, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage); fs.PrintDefaults() }
	var bins, paths listFlag
	o := &options{}
	fs.Var(&bins, "pyhost", "a pyhost binary to benchmark (repeatable; default: this one)")
	modes := fs.String("modes", "", "modes to run, comma-separated: shared, own, free, processes (default: every one the build has)")
	par := fs.String("parallelism", "", "parallelism levels, comma-separated (default: 1, 2, 4, ... up to the CPU count)")
	threads := fs.String("threads", "", "request threads of shared and free cells (default: --parallelism)")
	interps := fs.String("interpreters", "", "own-GIL interpreters of own cells, one thread each (default: --parallelism)")
	procs := fs.String("processes", "", "worker processes of processes cells (default: --parallelism)")
	loadFlags(fs, &o.load, &paths, " per cell")
	bodyFile := fs.String("body-file", "", "request body: this file's contents")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds over the matrix, alternating its order; the report shows the spread")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 60*time.Second, "how long a server may take to load the app")
	fs.StringVar(&o.jsonFile, "json", "", "write every cell and the environment as JSON to FILE")
	fs.StringVar(&o.htmlFile, "html", "", "write a self-contained HTML report with charts to FILE")
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && args[0] != "-h" && args[0] != "-help" && args[0] != "--help") {
		return nil, nil, nil, errors.New("give the app first: pyhost bench APP [flags] (pyhost bench -h for the flags)")
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fs.Usage()
		return nil, nil, nil, flag.ErrHelp
	}
	o.app = args[0]
	rest := args[1:]
	for i, a := range rest {
		if a == "--" {
			o.serveArgs = rest[i+1:]
			rest = rest[:i]
			break
		}
	}
	if err := fs.Parse(rest); err != nil {
		return nil, nil, nil, err
	}
	if fs.NArg() > 0 {
		return nil, nil, nil, fmt.Errorf("unexpected %q (serve's flags go after --)", fs.Arg(0))
	}
	if _, err := os.Stat(o.app); err != nil && !isModuleSpec(o.app) {
		return nil, nil, nil, fmt.Errorf("APP %s: %v", o.app, err)
	}
	if err := checkLoad(o, paths, *bodyFile); err != nil {
		return nil, nil, nil, err
	}
	builds, cells, err := buildMatrix(bins, self, *modes, *par, *threads, *interps, *procs, stderr)
	return o, builds, cells, err
}

// loadFlags defines the load generator's flags on fs, into l and paths; per says what the
// measured time and requests are counted over (" per cell"; empty for --load).
func loadFlags(fs *flag.FlagSet, l *load, paths *listFlag, per string) {
	fs.IntVar(&l.concurrency, "concurrency", 4*runtime.NumCPU(), "connections of the load generator (closed loop: requests in flight)")
	fs.Float64Var(&l.rate, "rate", 0, "open loop: requests per second, each timed from when it was due (0: closed loop)")
	fs.DurationVar(&l.duration, "duration", 10*time.Second, "measured time"+per+" (with --requests: whichever ends first)")
	fs.IntVar(&l.requests, "requests", 0, "measured requests"+per+" (0: no limit)")
	fs.DurationVar(&l.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	fs.DurationVar(&l.timeout, "timeout", 10*time.Second, "per request: a slower answer counts as a timeout error")
	fs.Var(paths, "path", "request path (repeatable; WEIGHT:/PATH weighs it, e.g. 3:/api 1:/; default /)")
	fs.StringVar(&l.method, "method", "GET", "request method")
}

// isModuleSpec says whether app is package.module:callable rather than a file.
func isModuleSpec(app string) bool {
	for _, r := range app {
		if r == ':' {
			return true
		}
		if r == '/' {
			return false
		}
	}
	return false
}

func checkLoad(o *options, paths []string, bodyFile string) error {
	l := &o.load
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	for _, p := range paths {
		wp, err := parsePath(p)
		if err != nil {
			return err
		}
		l.paths = append(l.paths, wp)
	}
	if bodyFile != "" {
		b, err := os.ReadFile(bodyFile)
		if err != nil {
			return fmt.Errorf("--body-file: %v", err)
		}
		l.body = b
	}
	switch {
	case l.concurrency < 1:
		return errors.New("--concurrency: need at least 1 connection")
	case l.rate < 0:
		return errors.New("--rate: need a positive rate (or 0 for a closed loop)")
	case l.duration <= 0 && l.requests <= 0:
		return errors.New("--duration and --requests are both 0: the run would never end")
	case o.rounds < 1:
		return errors.New("--rounds: need at least 1")
	}
	return nil
}

func buildMatrix(bins []string, self, modes, par, threads, interps, procs string, stderr io.Writer) ([]*build, []*cell, error) {
	if len(bins) == 0 {
		bins = []string{self}
	}
	var builds []*build
	seen := map[string]int{}
	for _, p := range bins {
		b, err := probeBuild(p)
		if err != nil {
			return nil, nil, err
		}
		if seen[b.Label]++; seen[b.Label] > 1 {
			b.Label = fmt.Sprintf("%s#%d", b.Label, seen[b.Label])
		}
		builds = append(builds, b)
	}
	ms, explicit := allModes, modes != ""
	if explicit {
		var err error
		if ms, err = parseModes(modes); err != nil {
			return nil, nil, err
		}
	}
	a := axes{parallelism: defaultParallelism(runtime.NumCPU())}
	for _, f := range []struct {
		name, val string
		dst       *[]int
	}{{"parallelism", par, &a.parallelism}, {"threads", threads, &a.threads},
		{"interpreters", interps, &a.interpreters}, {"processes", procs, &a.processes}} {
		if f.val == "" {
			continue
		}
		l, err := parseInts(f.name, f.val)
		if err != nil {
			return nil, nil, err
		}
		*f.dst = l
	}
	cells, notes := matrix(builds, ms, explicit, a)
	for _, n := range notes {
		fmt.Fprintln(stderr, "pyhost bench:", n)
	}
	if len(cells) == 0 {
		return nil, nil, errors.New("no cell to run: no build has any of the --modes")
	}
	return builds, cells, nil
}

// render is bench --render FILE.json [--html OUT]: an earlier report, shown again.
func render(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench --render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	htmlFile := fs.String("html", "", "write the HTML report to FILE")
	if len(args) == 0 {
		fmt.Fprintln(stderr, "pyhost bench --render FILE.json [--html OUT.html]")
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	b, err := os.ReadFile(args[0])
	var rep report
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pyhost bench --render: %s: %v\n", args[0], err)
		return 2
	}
	rep.writeTable(stdout)
	if err := rep.writeFiles("", *htmlFile); err != nil {
		fmt.Fprintf(stderr, "pyhost bench --render: %v\n", err)
		return 1
	}
	return 0
}
