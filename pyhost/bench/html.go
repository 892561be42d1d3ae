package bench

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// seriesOf collects one chart's points: value of each measured cell, by series.
func (rep *report) seriesOf(value func(*result) float64, withSpread bool) []series {
	var out []series
	at := map[string]int{}
	for _, cr := range rep.Cells {
		i, ok := at[cr.Series]
		if !ok {
			i = len(out)
			at[cr.Series] = i
			out = append(out, series{name: cr.Series, color: palette[i%len(palette)]})
		}
		if cr.Median == nil {
			continue
		}
		p := point{x: cr.Parallel, y: value(cr.Median)}
		if withSpread && len(cr.Rounds) > 1 {
			p.lo, p.hi, p.hasRange = cr.RPSMin, cr.RPSMax, true
		}
		out[i].points = append(out[i].points, p)
	}
	return out
}

const css = `body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.charts svg{border:1px solid #ccc;background:#fff}
table{border-collapse:collapse;font-size:13px;margin-top:16px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
td:first-child,th:first-child,td.l{text-align:left}tr.best{background:#fff4c2}tr.failed{color:#a00}
dl{font-size:13px}dt{font-weight:bold;float:left;width:130px}dd{margin-left:140px}`

// writeHTML writes the report as one page: no script, no external resource.
func (rep *report) writeHTML(w io.Writer) error {
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>pyhost bench: %s</title><style>%s</style></head><body>\n", e(rep.Env.App), css)
	fmt.Fprintf(&b, "<h1>pyhost bench: %s</h1>\n<dl>", e(rep.Env.App))
	var builds []string
	for _, bd := range rep.Env.Builds {
		builds = append(builds, fmt.Sprintf("%s: pyhost %s, Python %s (%s)", bd.Label, bd.PyhostVersion, bd.Python, bd.Path))
	}
	for _, kv := range [][2]string{{"CPU", fmt.Sprintf("%s, %d cores", rep.Env.CPUModel, rep.Env.Cores)},
		{"builds", strings.Join(builds, "; ")}, {"load", rep.Env.LoopKind},
		{"flags", strings.Join(rep.Env.Flags, " ")}, {"started", rep.Env.Started.Format("2006-01-02 15:04 UTC")}} {
		fmt.Fprintf(&b, "<dt>%s</dt><dd>%s</dd>", kv[0], e(kv[1]))
	}
	b.WriteString("</dl>\n")
	if rep.Env.Interrupted {
		b.WriteString("<p><b>Interrupted:</b> the cells measured before the stop.</p>\n")
	}
	b.WriteString(`<div class="charts">`)
	b.WriteString(lineChart("Throughput", "requests/s", rep.seriesOf(func(r *result) float64 { return r.RPS }, true)))
	b.WriteString(lineChart("Latency p99", "ms", rep.seriesOf(func(r *result) float64 { return r.LatencyMs.P99 }, false)))
	b.WriteString(lineChart("Server CPU per request", "µs", rep.seriesOf(func(r *result) float64 { return r.ServerCPUPerReqUs }, false)))
	b.WriteString(lineChart("Memory (steady RSS of the process tree)", "MiB", rep.seriesOf(func(r *result) float64 { return mib(r.SteadyRSS) }, false)))
	b.WriteString("</div>\n")
	rep.writeHTMLTable(&b)
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *report) writeHTMLTable(b *strings.Builder) {
	e := html.EscapeString
	b.WriteString("<table><tr><th>cell</th><th>req/s</th><th>spread</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th>" +
		"<th>errors</th><th>CPU µs/req</th><th>RSS MiB</th><th>peak MiB</th><th>GIL wait µs</th><th>GIL wait p99 µs</th><th>note</th></tr>\n")
	for _, cr := range rep.Cells {
		if cr.Median == nil {
			fmt.Fprintf(b, "<tr class=\"failed\"><td>%s</td><td colspan=\"14\" class=\"l\">failed: %s</td></tr>\n", e(cr.Cell), e(cr.Failed))
			continue
		}
		r, cls, name := cr.Median, "", e(cr.Cell)
		if cr.Best {
			cls, name = ` class="best"`, name+" ★"
		}
		errs := fmt.Sprint(errorCount(r))
		if errorCount(r) > 0 {
			errs = fmt.Sprintf(`<span title="%s">%d</span>`, e(errorSummary(r)), errorCount(r))
		}
		fmt.Fprintf(b, "<tr%s><td>%s</td><td>%.0f</td><td>%s</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%s</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.1f</td><td>%.1f</td><td class=\"l\">%s</td></tr>\n",
			cls, name, r.RPS, spread(cr), r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.P999, r.LatencyMs.Max,
			errs, r.ServerCPUPerReqUs, mib(r.SteadyRSS), mib(r.PeakRSS), r.GILWaitMeanUs, r.GILWaitP99Us, e(note(r)))
	}
	b.WriteString("</table>\n")
}
