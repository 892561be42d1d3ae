package wsgi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pyhost/pyhost/subinterp"
)

// An app that fails to import is tried again: the operator fixes the file (or the database
// the import needed comes back) and the mount starts answering without a restart. Between
// tries, requests get 503 with Retry-After, not one import each: an import can take seconds
// and fails the same way when nothing changed. The bootstrap (cgo/bootstrap.py load_app)
// forgets the app's own modules that a failed import left in sys.modules, so the next try
// imports the fixed files afresh.

const (
	loadRetryFirst = time.Second      // the wait after the first failed import
	loadRetryMax   = 30 * time.Second // the longest wait between tries
)

// loadFailure is a handler's last failed import. Guarded by Handler.loadMu.
type loadFailure struct {
	err     error
	tries   int       // failed imports in a row
	retryAt time.Time // no import before this
}

// LoadError is App's error after a failed import: the import's error, and when the next
// import will be tried.
type LoadError struct {
	Err     error
	RetryAt time.Time
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// loadOrRetry imports the app unless an import failed less than its back-off ago.
func (h *Handler) loadOrRetry() (*subinterp.App, error) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if a := h.app.Load(); a != nil {
		return a, nil
	}
	f := &h.failed
	if f.err != nil && time.Now().Before(f.retryAt) {
		return nil, &LoadError{Err: f.err, RetryAt: f.retryAt}
	}
	a, err := h.Load()
	if err != nil {
		f.err, f.tries = err, f.tries+1
		wait := loadRetryFirst << min(f.tries-1, 5)
		f.retryAt = time.Now().Add(min(wait, loadRetryMax))
		h.Log.Warn("the WSGI application failed to load (its error is above); its "+
			"requests get 503 until the next try: fix the app, the next try imports it anew",
			"mount", h.ScriptName, "attempt", f.tries, "retry_in", min(wait, loadRetryMax).String())
		return nil, &LoadError{Err: err, RetryAt: f.retryAt}
	}
	if f.tries > 0 {
		h.Log.Info("the WSGI application loaded after failed tries", "mount", h.ScriptName,
			"failed_tries", f.tries)
	}
	h.failed = loadFailure{}
	h.app.Store(a)
	return a, nil
}

// unavailable answers a request whose app could not be loaded: 503 (the server is fine, the
// app is not there yet) with Retry-After set to the next import's time.
func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	retry := time.Second
	var le *LoadError
	if errors.As(err, &le) {
		retry = max(time.Until(le.RetryAt), 0)
	}
	secs := int((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
}

// Preload imports the app at start, where a failure stops the server instead of being
// retried: it is not recorded, and nothing is logged beyond the import's own error.
func (h *Handler) Preload() (*subinterp.App, error) {
	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	if a := h.app.Load(); a != nil {
		return a, nil
	}
	a, err := h.Load()
	if err != nil {
		return nil, err
	}
	h.app.Store(a)
	return a, nil
}
