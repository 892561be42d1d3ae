package observe

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// --metrics-listen: the listener of /metrics, /healthz and /readyz, served by the process
// that owns the server: the single-process server itself, or the supervisor of --processes
// (which gathers every worker's metrics; a worker never binds it).

// MetricsListener serves --metrics-listen: /healthz from the moment it is bound, /readyz and
// the owner's handlers once the owner calls Serve.
type MetricsListener struct {
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
	// ready says whether the server accepts requests, and if not, why not (for /readyz).
	ready atomic.Pointer[func() (bool, string)]
	// rest answers every other path (/metrics and what else the owner registers); nil until
	// the owner is set up, which /readyz's 503 covers meanwhile.
	rest atomic.Pointer[http.Handler]
}

// ListenMetrics binds addr and starts serving /healthz at once; /readyz answers 503 until
// the owner says it is ready.
func ListenMetrics(addr string, log *slog.Logger) (*MetricsListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	m := &MetricsListener{ln: ln, log: log}
	notYet := func() (bool, string) { return false, "starting: the applications are loading" }
	m.ready.Store(&notYet)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ok, why := (*m.ready.Load())()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", why)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if rest := m.rest.Load(); rest != nil {
			(*rest).ServeHTTP(w, r)
			return
		}
		http.Error(w, "pyhost is starting: try again once /readyz answers 200",
			http.StatusServiceUnavailable)
	})
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = m.srv.Serve(ln) }()
	log.Info("serving metrics", "metrics", "http://"+ln.Addr().String()+"/metrics")
	return m, nil
}

// Serve hands the listener to its owner once it is set up: rest answers every path but
// /healthz and /readyz (/metrics, /debug/threads...), and ready says for /readyz whether the
// owner accepts requests and, if not, why not.
func (m *MetricsListener) Serve(rest http.Handler, ready func() (ok bool, why string)) {
	m.rest.Store(&rest)
	m.ready.Store(&ready)
}

// ReadyUntil is the readiness of a server that accepts requests until ctx ends (its
// shutdown begins): the single-process server's.
func ReadyUntil(ctx context.Context) func() (bool, string) {
	return func() (bool, string) {
		if ctx.Err() != nil {
			return false, "shutting down"
		}
		return true, ""
	}
}

// Close stops serving, waiting a second at most for the requests being answered.
func (m *MetricsListener) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
}
