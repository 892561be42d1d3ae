package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

type environment struct {
	CPUModel    string    `json:"cpu_model"`
	Cores       int       `json:"cores"`
	Builds      []*build  `json:"builds"`
	App         string    `json:"app"`
	Flags       []string  `json:"flags"`
	Started     time.Time `json:"started"`
	LoopKind    string    `json:"load"` // "closed loop, 8 connections" / "open loop, 500 req/s"
	Interrupted bool      `json:"interrupted,omitempty"`
}

// cellReport is a cell over its rounds: the round of median req/s stands for it.
type cellReport struct {
	Cell     string    `json:"cell"`
	Build    string    `json:"build"`
	Mode     string    `json:"mode"`
	Series   string    `json:"series"`
	Parallel int       `json:"parallelism"`
	Best     bool      `json:"best,omitempty"`
	Failed   string    `json:"failed,omitempty"`
	RPSMin   float64   `json:"requests_per_second_min"`
	RPSMax   float64   `json:"requests_per_second_max"`
	Median   *result   `json:"median"`
	Rounds   []*result `json:"rounds"`
}

type report struct {
	Env   environment   `json:"environment"`
	Cells []*cellReport `json:"cells"`
	index map[*cell]*cellReport
}

func newReport(o *options, builds []*build, args []string) *report {
	kind := fmt.Sprintf("closed loop, %d connections", o.load.concurrency)
	if o.load.rate > 0 {
		kind = fmt.Sprintf("open loop, %g req/s over %d connections", o.load.rate, o.load.concurrency)
	}
	return &report{Env: environment{CPUModel: cpuModel(), Cores: runtime.NumCPU(), Builds: builds,
		App: o.app, Flags: args, Started: time.Now().UTC().Truncate(time.Second), LoopKind: kind},
		index: map[*cell]*cellReport{}}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (rep *report) add(c *cell, r *result) {
	cr := rep.index[c]
	if cr == nil {
		cr = &cellReport{Cell: c.name(), Build: c.Build.Label, Mode: c.Mode, Series: c.series(), Parallel: c.Parallel}
		rep.index[c] = cr
		rep.Cells = append(rep.Cells, cr)
	}
	cr.Rounds = append(cr.Rounds, r)
}

// finish picks each cell's median round and spread, and the best cell (most req/s).
func (rep *report) finish(interrupted bool) {
	rep.Env.Interrupted = interrupted
	var best *cellReport
	for _, cr := range rep.Cells {
		var ok []*result
		for _, r := range cr.Rounds {
			if r.Failed == "" {
				ok = append(ok, r)
			} else if cr.Failed == "" {
				cr.Failed = r.Failed
			}
		}
		if len(ok) == 0 {
			continue
		}
		cr.Failed = "" // failed in some round only: shown in its rounds
		sort.Slice(ok, func(i, j int) bool { return ok[i].RPS < ok[j].RPS })
		cr.Median, cr.RPSMin, cr.RPSMax = ok[len(ok)/2], ok[0].RPS, ok[len(ok)-1].RPS
		if best == nil || cr.Median.RPS > best.Median.RPS {
			best = cr
		}
	}
	if best != nil {
		best.Best = true
	}
}

func (rep *report) anyFailed() bool {
	for _, cr := range rep.Cells {
		for _, r := range cr.Rounds {
			if r.Failed != "" {
				return true
			}
		}
	}
	return false
}

// writeTable prints the cells, the best marked with *.
func (rep *report) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tcell\treq/s\tspread\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tCPU µs/req\tRSS MiB\tpeak MiB\tGIL wait µs\tp99 µs\t")
	for _, cr := range rep.Cells {
		mark := ""
		if cr.Best {
			mark = "*"
		}
		if cr.Median == nil {
			fmt.Fprintf(tw, "%s\t%s\tFAILED\t\t\t\t\t\t\t\t\t\t\t\t\t\n", mark, cr.Cell)
			continue
		}
		r := cr.Median
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%s\n",
			mark, cr.Cell, r.RPS, spread(cr), r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.P999,
			r.LatencyMs.Max, errorCount(r), r.ServerCPUPerReqUs, mib(r.SteadyRSS), mib(r.PeakRSS),
			r.GILWaitMeanUs, r.GILWaitP99Us, note(r))
	}
	tw.Flush()
	for _, cr := range rep.Cells {
		for _, r := range cr.Rounds {
			if r.Failed != "" {
				fmt.Fprintf(w, "%s (round %d) failed: %s\n", cr.Cell, r.Round, r.Failed)
			} else if n := errorCount(r); n > 0 {
				fmt.Fprintf(w, "%s (round %d): %d errors: %s\n", cr.Cell, r.Round, n, errorSummary(r))
			}
		}
	}
	fmt.Fprintf(w, "* most requests/s. %s; %s, %d cores.\n", rep.Env.LoopKind, rep.Env.CPUModel, rep.Env.Cores)
}

func note(r *result) string {
	var n []string
	if r.GILReenabled != nil && *r.GILReenabled {
		n = append(n, "GIL RE-ENABLED by an extension")
	}
	if r.TargetRate > 0 && r.RPS < 0.95*r.TargetRate {
		n = append(n, fmt.Sprintf("below the %g req/s asked: latency includes the backlog", r.TargetRate))
	}
	return strings.Join(n, "; ")
}

func spread(cr *cellReport) string {
	if len(cr.Rounds) < 2 || cr.Median.RPS == 0 {
		return ""
	}
	return fmt.Sprintf("±%.0f%%", 50*(cr.RPSMax-cr.RPSMin)/cr.Median.RPS)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func (rep *report) writeFiles(jsonFile, htmlFile string) error {
	if jsonFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonFile, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("--json: %v", err)
		}
	}
	if htmlFile != "" {
		f, err := os.Create(htmlFile)
		if err != nil {
			return fmt.Errorf("--html: %v", err)
		}
		err = rep.writeHTML(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--html: %v", err)
		}
	}
	return nil
}
