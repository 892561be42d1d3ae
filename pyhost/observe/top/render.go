package top

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// render draws a frame; ansi adds the clear-screen and emphasis sequences.
func render(w io.Writer, source string, f frame, ansi bool) {
	bold, rev, reset := "", "", ""
	if ansi {
		fmt.Fprint(w, ansiHomeClear)
		bold, rev, reset = ansiBold, ansiReverse, ansiReset
	}
	fmt.Fprintf(w, "%spyhost top%s — %s — %s", bold, reset, source, f.at.Format("15:04:05"))
	if ansi {
		fmt.Fprint(w, "   (q quits)")
	}
	fmt.Fprint(w, "\n\n")
	fmt.Fprintf(w, "%s%-20s %7s %8s %10s %10s %13s%s\n", rev, "PROCESS GROUP", "WORKERS",
		"REQ/S", "P50", "P99", "GIL-WAIT P99", reset)
	for _, g := range f.groups {
		fmt.Fprintf(w, "%-20s %7d %8s %10s %10s %13s\n", clip(g.name, 20), g.workers,
			fmtRate(g.reqPerSec), fmtSeconds(g.p50), fmtSeconds(g.p99), fmtSeconds(g.gilWaitP99))
		writeGILOnAgain(w, g.gilOn, bold, reset)
	}
	fmt.Fprintf(w, "\n%s%-8s %-20s %6s %-9s %9s %8s %7s  %s%s\n", rev, "PID", "PROCESS GROUP",
		"WORKER", "STATE", "RSS", "REQ/S", "BUSY", "LONGEST REQUEST", reset)
	for _, p := range f.workers {
		writeWorkerRow(w, p)
	}
	fmt.Fprintf(w, "\n%s%-10s %-8s %6s %-20s %-30s %-22s %s%s\n", rev, "RUNNING", "PID", "THREAD",
		"REQUEST ID", "REQUEST", "APPLICATION GROUP", "INTERP", reset)
	if len(f.longest) == 0 {
		fmt.Fprintln(w, "(no request running)")
	}
	for _, r := range f.longest {
		fmt.Fprintf(w, "%-10s %-8d %6d %-20s %-30s %-22s %d\n", fmtSeconds(r.RunningSeconds), r.pid,
			r.Thread, clip(r.RequestID, 20), clip(r.Method+" "+r.Path, 30),
			clip(r.ApplicationGroup, 22), r.Interpreter)
	}
}

// writeWorkerRow is a worker's line: its pid, process group, worker (its slot in the group),
// state, RSS, requests per second, busy threads and longest-running request (or why it did not answer).
func writeWorkerRow(w io.Writer, p workerRow) {
	slot, state := "-", p.State
	if p.Slot >= 0 {
		slot = strconv.Itoa(p.Slot)
	}
	if state == "" {
		state = "serving"
	}
	longest := ""
	if p.Error != "" {
		longest = "no answer: " + p.Error
	} else if len(p.Requests) > 0 {
		r := p.Requests[0]
		longest = fmt.Sprintf("%s %s %s", fmtSeconds(r.RunningSeconds), r.Method, r.Path)
	}
	fmt.Fprintf(w, "%-8d %-20s %6s %-9s %9s %8s %7s  %s\n", p.PID, clip(p.ProcessGroup, 20),
		slot, clip(state, 9), fmtBytes(p.rss), fmtRate(p.reqPerSec),
		fmt.Sprintf("%d/%d", p.Busy, p.Threads), clip(longest, 60))
}

// writeGILOnAgain marks, under a process group's line, each application group whose GIL an
// extension module switched back on under --gil free (its threads now take turns), and the
// modules that did (pyhost check names them before a deploy).
func writeGILOnAgain(w io.Writer, on []gilOnAgain, bold, reset string) {
	for _, g := range on {
		by := "module not named"
		if len(g.modules) > 0 {
			by = strings.Join(g.modules, ", ")
		}
		fmt.Fprintf(w, "  %sGIL on again%s: %s (application group %s)\n", bold, reset,
			clip(by, 60), clip(g.appGroup, 30))
	}
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func fmtRate(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtSeconds shows a duration with three significant digits (µs to hours).
func fmtSeconds(s float64) string {
	if math.IsNaN(s) {
		return "-"
	}
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(s*1e6, 'f', 0, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(s*1e3, 'f', 1, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(s, 'f', 2, 64) + "s"
	default:
		return d.Round(time.Second).String()
	}
}

func fmtBytes(b float64) string {
	if math.IsNaN(b) {
		return "-"
	}
	const mib = 1 << 20
	if b >= 1<<30 {
		return strconv.FormatFloat(b/(1<<30), 'f', 2, 64) + "GiB"
	}
	return strconv.FormatFloat(b/mib, 'f', 1, 64) + "MiB"
}
