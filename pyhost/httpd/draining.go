package httpd

import (
	"net/http"
	"sync/atomic"
)

// CloseWhenDraining is the handler of a worker behind the supervisor's front end (a process
// group's worker, reached through its Unix socket). Once draining is set, every response
// asks for its connection to be closed, so the front end stops reusing it; but the worker
// closes no idle connection itself, as SetKeepAlivesEnabled(false) would: the front end may
// be sending a request on it at that instant, and a POST lost that way cannot be retried.
// The front end closes its idle connections to a draining worker itself.
func CloseWhenDraining(draining *atomic.Bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
