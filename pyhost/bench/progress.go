package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// progress is the live line of the running cell: redrawn in place on a terminal, plain lines
// (one when a cell starts, one when it ends) otherwise.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	label string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label = label
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s: starting", label)
	} else {
		fmt.Fprintf(p.w, "%s: starting\n", label)
	}
}

func (p *progress) update(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s: %s", p.label, s)
	}
}

func (p *progress) done(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s: %s\n", p.label, s)
	} else {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, s)
	}
}

func resultLine(r *result) string {
	if r.Failed != "" {
		return "FAILED: " + r.Failed
	}
	s := fmt.Sprintf("%.0f req/s, p99 %.2f ms, %.0f µs CPU/request", r.RPS, r.LatencyMs.P99, r.ServerCPUPerReqUs)
	if n := errorCount(r); n > 0 {
		s += fmt.Sprintf(", %d errors (%s)", n, errorSummary(r))
	}
	return s
}

func errorCount(r *result) uint64 {
	var n uint64
	for _, v := range r.Errors {
		n += v
	}
	return n
}
