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
	"syscall"
	"time"
)

// LoadUsage is the help of `pyhost bench --load`.
const LoadUsage = `Usage: pyhost bench --load HOST:PORT [flags]

Drives a server that is already running (pyhost, uWSGI, gunicorn, anything that speaks
HTTP/1.1 keep-alive) with the same load generator as pyhost bench, and prints what it saw as
one JSON object on stdout (the fields of a pyhost bench --json cell) and one line on stderr.
This is how scripts/bench/ compares pyhost with its peers under an open-loop load (--rate):
each request is timed from when it was due, so a server that stalls is charged for the
requests that queued behind the stall, which a closed-loop tool (wrk) does not see.

A request that is due while every connection is busy waits for a free one (its wait counts);
--rate R with too few --concurrency connections for R is reported as unsent requests. A
connection that the server never answers counts as timeouts after --timeout.

Flags:
`

// runLoadOnly is `pyhost bench --load HOST:PORT ...`.
func runLoadOnly(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench --load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, LoadUsage); fs.PrintDefaults() }
	l := &load{}
	var paths listFlag
	loadFlags(fs, l, &paths, "")
	pid := fs.Int("pid", 0, "the server's pid: report its process tree's CPU per request")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return 0
		}
		fmt.Fprintln(stderr, "pyhost bench --load: give the server's address first: pyhost bench --load 127.0.0.1:8000 [flags]")
		return 2
	}
	l.addr = args[0]
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pyhost bench --load: unexpected %q\n", fs.Arg(0))
		return 2
	}
	o := &options{load: *l, rounds: 1}
	if err := checkLoad(o, paths, ""); err != nil {
		fmt.Fprintf(stderr, "pyhost bench --load: %v\n", err)
		return 2
	}
	*l = o.load
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	l.warm(ctx)
	var cpu0 time.Duration
	if *pid > 0 {
		cpu0, _ = treeUsage(*pid)
	}
	res := l.run(ctx, nil)
	var serverCPU time.Duration
	if *pid > 0 {
		cpu1, _ := treeUsage(*pid)
		serverCPU = cpu1 - cpu0
	}
	r := &result{Cell: "load " + l.addr, Mode: "external", Parallel: l.concurrency}
	fill(r, l, res, serverCPU) // without --pid, serverCPU is 0 and so is its per-request figure
	fmt.Fprintln(stderr, resultLine(r))
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(r); err != nil {
		fmt.Fprintf(stderr, "pyhost bench --load: %v\n", err)
		return 1
	}
	if ctx.Err() != nil {
		return 130
	}
	if r.OK == 0 {
		fmt.Fprintf(stderr, "pyhost bench --load: no request succeeded (%s)\n", errorSummary(r))
		return 1
	}
	return 0
}
