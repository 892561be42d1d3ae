package pyhost

import (
	"net/http"
	"sync/atomic"
)

// closeWhenDraining is the handler of a worker behind the supervisor's router. Once the worker
// drains, every response asks for its connection to be closed, so the router stops reusing
// it; but the worker closes no idle connection itself, as SetKeepAlivesEnabled(false) would:
// the router may be sending a request on it at that instant, and a POST lost that way cannot
// be retried. The router closes its idle connections to a draining worker (routedSlot.closeIdleSoon).
func closeWhenDraining(draining *atomic.Bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
