package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// atPhase returns the sample taken nearest the end of phase k of n (samples are a second
// apart; the last one is taken at the end of the run).
func (rep *report) atPhase(k, n int) sample {
	bound := rep.duration * time.Duration(k) / time.Duration(n)
	best := rep.samples[0]
	for _, x := range rep.samples {
		if (x.at - bound).Abs() < (best.at - bound).Abs() {
			best = x
		}
	}
	return best
}

// secondHalf returns the samples from the one nearest the middle of the run to the end.
func (rep *report) secondHalf() []sample {
	mid := rep.atPhase(1, 2)
	for i, s := range rep.samples {
		if s.at == mid.at {
			return rep.samples[i:]
		}
	}
	return nil
}

// growth over the second half: the end minus the middle, and the least-squares slope of RSS
// against requests served (steadier than two points when RSS saw-tooths with the collectors),
// both in MB per 100k requests.
func (rep *report) growth() (mid, last sample, endpoints, slope float64, ok bool) {
	h := rep.secondHalf()
	if len(h) < 2 {
		return mid, last, 0, 0, false
	}
	mid, last = h[0], h[len(h)-1]
	reqs := float64(last.requests - mid.requests)
	if reqs <= 0 {
		return mid, last, 0, 0, false
	}
	endpoints = float64(last.rss-mid.rss) / mb / reqs * 1e5
	var sx, sy, sxx, sxy float64
	for _, s := range h {
		x, y := float64(s.requests), float64(s.rss)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	n := float64(len(h))
	if d := n*sxx - sx*sx; d > 0 {
		slope = (n*sxy - sx*sy) / d / mb * 1e5
	}
	return mid, last, endpoints, slope, true
}

func (rep *report) served() int64 { return rep.samples[len(rep.samples)-1].requests }

func (rep *report) print(w io.Writer, label, only string, phases int) {
	last := rep.samples[len(rep.samples)-1]
	secs := last.at.Seconds()
	fmt.Fprintf(w, "%s, %s: %d requests in %.0fs (%.0f/s), %d connections, %d processes\n",
		label, only, last.requests, secs, float64(last.requests)/secs, rep.conns, last.procs)
	fmt.Fprintf(w, "  %-6s %7s %10s %9s\n", "phase", "time", "requests", "RSS MB")
	var rss []string
	for k := 0; k <= phases; k++ {
		s := rep.atPhase(k, phases)
		fmt.Fprintf(w, "  %-6d %6.0fs %10d %9.2f\n", k, s.at.Seconds(), s.requests, float64(s.rss)/mb)
		rss = append(rss, fmt.Sprintf("%.2f", float64(s.rss)/mb))
	}
	mid, end, endpoints, slope, ok := rep.growth()
	if ok {
		fmt.Fprintf(w, "  second half (%.0fs to %.0fs, %d requests): RSS %+.2f MB, %+.3f MB per 100k requests (least squares over %d samples: %+.3f)\n",
			mid.at.Seconds(), end.at.Seconds(), end.requests-mid.requests, float64(end.rss-mid.rss)/mb,
			endpoints, len(rep.secondHalf()), slope)
	}
	var per []string
	for i, p := range rep.mix {
		per = append(per, fmt.Sprintf("%s %d", p.name, rep.perPath[i]))
		if rep.wrong[i] > 0 {
			per[len(per)-1] += fmt.Sprintf(" (%d wrong)", rep.wrong[i])
		}
	}
	fmt.Fprintf(w, "  answers per path: %s\n", strings.Join(per, ", "))
	// One line for scripts: soak.sh builds its table from these.
	fmt.Fprintf(w, "RESULT label=%s path=%s requests=%d seconds=%.0f rss_mb=%s half_mb=%.2f per100k_mb=%.3f slope100k_mb=%.3f wrong=%d\n",
		label, only, last.requests, secs, strings.Join(rss, ","), float64(end.rss-mid.rss)/mb, endpoints, slope, rep.wrongTotal())
}

func (rep *report) wrongTotal() int64 {
	var n int64
	for _, x := range rep.wrong {
		n += x
	}
	return n
}

// verdict returns the exit status: 3 when the growth is over failAbove MB per 100k requests
// and, over the second half, over floor MB (a leak: a few requests more or less must not turn
// one arena step into a rate), 1 when the run cannot be trusted (wrong answers, too few
// requests), else 0.
func (rep *report) verdict(w io.Writer, failAbove, floor, maxErrRate float64) int {
	for _, e := range rep.firstBad {
		fmt.Fprintln(w, "  wrong answer:", e)
	}
	served := rep.served()
	if wrong := rep.wrongTotal(); float64(wrong) > maxErrRate*float64(served) {
		fmt.Fprintf(w, "soakload: %d of %d answers were wrong (above %.2f%%): the server is failing, its memory says nothing; see its log\n",
			wrong, served, maxErrRate*100)
		return 1
	}
	if failAbove <= 0 {
		return 0
	}
	mid, end, _, slope, ok := rep.growth()
	if !ok || end.requests-mid.requests < 1000 {
		fmt.Fprintf(w, "soakload: only %d requests in the second half, too few to judge growth; run longer or check that the server keeps up\n",
			end.requests-mid.requests)
		return 1
	}
	fitted := slope * float64(end.requests-mid.requests) / 1e5
	if slope > failAbove && fitted > floor {
		fmt.Fprintf(w, "soakload: LEAK: resident memory grew %.2f MB per 100k requests over the second half (%.0fs to %.0fs, %.1f MB in all), above the limit of %.2f (%.0f bytes per request); "+
			"compare the RSS per phase above, then run the paths alone (scripts/bench/soak.sh PATH_DURATION=) to find which one keeps memory\n",
			slope, mid.at.Seconds(), end.at.Seconds(), fitted, failAbove, slope*mb/1e5)
		return 3
	}
	fmt.Fprintf(w, "soakload: no leak: %.3f MB per 100k requests over the second half (%.2f MB in all), limit %.2f per 100k and %.1f in all\n",
		slope, fitted, failAbove, floor)
	return 0
}
