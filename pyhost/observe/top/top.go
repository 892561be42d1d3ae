// Package top is `pyhost top`: a terminal view of a running server, redrawn every second from
// its metrics listener (/metrics and /debug/threads), like uwsgitop without a separate
// install. It is a client only: what it reads is written by the server (pyhost/observe's
// thread view and the server's metrics); it links no Python and builds without cgo.
package top

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/pyhost/pyhost/pyhost/observe"
)

const usage = `Usage: pyhost top [--metrics ADDR] [--interval 1s] [--once]

Shows a running pyhost server (started with --metrics-listen ADDR), redrawn every interval:
per process group its requests per second, p50/p99 latency and GIL-wait p99 over the last
interval, and under --gil free a "GIL on again" line for each application group whose GIL
an extension module switched back on (naming the module); per worker its pid, state, RSS, requests per second and busy request threads; and
the longest-running requests. q quits.

`

// sample is one look at the server.
type sample struct {
	at       time.Time
	families map[string]*dto.MetricFamily
	threads  observe.ThreadsView
}

// client fetches samples from a metrics listener.
type client struct {
	base   string // http://host:port
	client *http.Client
}

func newClient(addr string) *client {
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &client{base: strings.TrimRight(base, "/"), client: &http.Client{Timeout: 5 * time.Second}}
}

func (c *client) get(ctx context.Context, path, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", c.base+path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func (c *client) sample(ctx context.Context) (*sample, error) {
	s := &sample{at: time.Now()}
	body, err := c.get(ctx, "/metrics", "text/plain;version=0.0.4")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if s.families, err = parser.TextToMetricFamilies(strings.NewReader(string(body))); err != nil {
		return nil, fmt.Errorf("%s/metrics: %w", c.base, err)
	}
	body, err = c.get(ctx, "/debug/threads?format=json", "application/json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(body, &s.threads); err != nil {
		return nil, fmt.Errorf("%s/debug/threads: %w", c.base, err)
	}
	return s, nil
}

// Run runs `pyhost top` with its arguments (those after "top") and returns the exit status.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pyhost top", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("metrics", "127.0.0.1:9100", "the server's --metrics-listen address")
	interval := fs.Duration("interval", time.Second, "how often to redraw")
	once := fs.Bool("once", false, "print one frame (two samples an interval apart) and exit, "+
		"without terminal control sequences")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *interval < 100*time.Millisecond {
		fs.Usage()
		return 2
	}
	c := newClient(*addr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *once {
		return runOnce(ctx, c, *interval, stdout, stderr)
	}
	return runLoop(ctx, c, *interval, stdout, stderr)
}

func runOnce(ctx context.Context, c *client, interval time.Duration, stdout, stderr io.Writer) int {
	prev, err := c.sample(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pyhost top: %v (is the server running with --metrics-listen %s?)\n",
			err, strings.TrimPrefix(c.base, "http://"))
		return 1
	}
	select {
	case <-time.After(interval):
	case <-ctx.Done():
		return 1
	}
	cur, err := c.sample(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pyhost top: %v\n", err)
		return 1
	}
	render(stdout, c.base, buildFrame(prev, cur), false)
	return 0
}

// runLoop redraws until q, Ctrl-C or SIGTERM. A failed sample is shown on the screen and
// retried at the next tick (the server may be restarting).
func runLoop(ctx context.Context, c *client, interval time.Duration, stdout, stderr io.Writer) int {
	restore, _ := cbreak(os.Stdin)
	defer restore()
	fmt.Fprint(stdout, ansiAltScreenOn)
	defer fmt.Fprint(stdout, ansiAltScreenOff)
	keys := make(chan byte, 1)
	go func() {
		var b [1]byte
		for {
			n, err := os.Stdin.Read(b[:])
			if err != nil {
				return
			}
			if n == 1 {
				keys <- b[0]
			}
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var prev *sample
	for {
		cur, err := c.sample(ctx)
		switch {
		case err != nil && errors.Is(ctx.Err(), context.Canceled):
			return 0
		case err != nil:
			fmt.Fprintf(stdout, "%spyhost top — %s — %s\n\n%v\n\nretrying every %s; q quits\n",
				ansiHomeClear, c.base, time.Now().Format("15:04:05"), err, interval)
		case prev == nil:
			render(stdout, c.base, buildFrame(cur, cur), true)
		default:
			render(stdout, c.base, buildFrame(prev, cur), true)
		}
		if err == nil {
			prev = cur
		}
		select {
		case <-ctx.Done():
			return 0
		case k := <-keys:
			if k == 'q' || k == 'Q' {
				return 0
			}
		case <-tick.C:
		}
	}
}
