package httpd

import (
	"net/http"
	"sync/atomic"
)

// CloseWhenDraining wraps a server's handler for its drain. Once draining is set, every
// response asks for its connection to be closed (net/http and the fast path both close it
// after that response), so a client or the supervisor's front end stops reusing it; but no
// idle connection is closed at that moment, as SetKeepAlivesEnabled(false) or Shutdown
// would: its client may be sending a request on it at that instant, and a POST lost that way
// cannot be retried. The server closes the connections still idle a little later (pyhost's
// drain window); behind the front end, the front end closes its idle connections to a
// draining worker itself.
func CloseWhenDraining(draining *atomic.Bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
