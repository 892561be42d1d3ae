package bench

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// palette gives each series (build and mode) its colour, in the order series first appear.
// Points and lines are drawn in exactly this colour; legend swatches are drawn translucent,
// so a colour found in a picture of the page is a drawn series, not only its legend.
var palette = []string{"#1f6fd0", "#d4481c", "#2a9d3a", "#8e44ad", "#c9a100", "#10a0a8", "#b0306a", "#6b4f2a"}

type point struct {
	x        int     // parallelism
	y        float64 // the value
	lo, hi   float64 // spread over rounds (lo == hi: none)
	hasRange bool
}

type series struct {
	name   string
	color  string
	points []point
}

// lineChart draws series against parallelism as an inline SVG.
func lineChart(title, unit string, ss []series) string {
	const w, ml, mr, mt = 540, 70, 20, 36
	// The legend wraps into rows under the axis; the chart grows by a row each.
	type entry struct{ x, row int }
	var legend []entry
	lx, row := ml, 0
	for _, s := range ss {
		width := 24 + 7*len([]rune(s.name))
		if lx+width > w-mr && lx > ml {
			lx, row = ml, row+1
		}
		legend = append(legend, entry{lx, row})
		lx += width
	}
	mb := 72 + 16*row
	h := 328 + 16*row
	var xs []int
	seen := map[int]bool{}
	ymax := 0.0
	for _, s := range ss {
		for _, p := range s.points {
			if !seen[p.x] {
				seen[p.x] = true
				xs = append(xs, p.x)
			}
			ymax = max(ymax, p.y, p.hi)
		}
	}
	sort.Ints(xs)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, w, h, w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`, ml, html.EscapeString(title))
	if len(xs) == 0 {
		b.WriteString(`<text x="70" y="160">no cell measured</text></svg>`)
		return b.String()
	}
	top := niceCeil(ymax)
	pw, ph := float64(w-ml-mr), float64(h-mt-mb)
	xAt := func(x int) float64 {
		i := sort.SearchInts(xs, x)
		if len(xs) == 1 {
			return float64(ml) + pw/2
		}
		return float64(ml) + pw*float64(i)/float64(len(xs)-1)
	}
	yAt := func(y float64) float64 { return float64(mt) + ph*(1-y/top) }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := yAt(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, ml, w-mr, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end">%s</text>`, ml-6, y+4, fmtNum(v))
	}
	for _, x := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">%d</text>`, xAt(x), h-mb+16, x)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle">parallelism (threads, interpreters or processes)</text>`, float64(ml)+pw/2, h-mb+32)
	fmt.Fprintf(&b, `<text x="14" y="%.1f" font-size="11" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`, float64(mt)+ph/2, float64(mt)+ph/2, html.EscapeString(unit))
	for _, s := range ss {
		var pts []string
		for _, p := range s.points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(p.x), yAt(p.y)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="3" points="%s"><title>%s</title></polyline>`,
			s.color, strings.Join(pts, " "), html.EscapeString(s.name))
		for _, p := range s.points {
			if p.hasRange && p.hi > p.lo {
				fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`,
					xAt(p.x), xAt(p.x), yAt(p.lo), yAt(p.hi), s.color)
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="%s"><title>%s ×%d: %s %s</title></circle>`,
				xAt(p.x), yAt(p.y), s.color, html.EscapeString(s.name), p.x, fmtNum(p.y), html.EscapeString(unit))
		}
	}
	// Legend under the axis label, translucent swatches.
	for i, s := range ss {
		e := legend[i]
		y := h - mb + 54 + 16*e.row
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s" fill-opacity="0.55"/>`, e.x, y-10, s.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text>`, e.x+16, y, html.EscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
