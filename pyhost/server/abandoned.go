package server

import (
	"context"
	"time"

	"github.com/pyhost/pyhost/wsgi"
)

// A graceful stop waits for the requests that still owe their client a response, not for
// those --request-timeout already answered 504 whose Python code still runs (stuck in a
// blocking C call that pyhost.RequestTimeout cannot interrupt): nobody waits for those, and
// they would hold every stop for the whole --shutdown-timeout.

// abandonedGrace is how long the stop, once nothing else is owed, gives abandoned requests to
// unwind (the RequestTimeout raised in them usually ends them within milliseconds): if they
// do, Python is finalised as on any stop; if not, the process exits without finalising, as
// after the shutdown timeout (finalising would pull the interpreter from under them).
const abandonedGrace = time.Second

// cutShortForAbandoned cancels the stop's wait (cut) once only abandoned requests are left,
// and have been for abandonedGrace; it returns when ctx ends.
func cutShortForAbandoned(ctx context.Context, f *wsgi.InFlight, cut context.CancelFunc) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var onlyAbandonedSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Read in this order: a request leaves the abandoned set before it stops being
		// counted as in flight, so "none owed" is never seen while one is.
		abandoned := len(f.Abandoned())
		if f.Owed() != 0 || abandoned == 0 {
			onlyAbandonedSince = time.Time{}
			continue
		}
		if onlyAbandonedSince.IsZero() {
			onlyAbandonedSince = time.Now()
		}
		if time.Since(onlyAbandonedSince) >= abandonedGrace {
			cut()
			return
		}
	}
}

// logAbandoned names each request the stop leaves running.
func (s *Server) logAbandoned(left []wsgi.AbandonedRequest) {
	for _, a := range left {
		s.log.Error("stopping without this request: --request-timeout answered it 504 and its "+
			"Python code still runs (stuck in C code that pyhost.RequestTimeout cannot "+
			"interrupt; its stack was logged at the timeout)", "request_id", a.ID,
			"method", a.Method, "path", a.Path,
			"answered", time.Since(a.AnsweredAt).Round(time.Millisecond).String()+" ago")
	}
	s.log.Error("every request still owed a response is done; exiting without finalising "+
		"Python, which the abandoned requests above still run in", "abandoned", len(left))
}
