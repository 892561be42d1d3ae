package pyhost

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

type metricsListener struct {
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
	// ready says whether the server accepts requests, and if not, why not (for /readyz).
	ready atomic.Pointer[func() (bool, string)]
	// rest answers every other path (/metrics and what else the owner registers); nil until
	// the owner is set up, which /readyz's 503 covers meanwhile.
	rest atomic.Pointer[http.ServeMux]
}

// listenMetrics binds addr and starts serving /healthz at once; /readyz answers 503 until
// the owner says it is ready.
func listenMetrics(addr string, log *slog.Logger) (*metricsListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	m := &metricsListener{ln: ln, log: log}
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
			rest.ServeHTTP(w, r)
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

// serveProcess makes the single-process server the owner: its control handlers (/metrics,
// ...) answer, and it is ready until ctx ends (its shutdown begins).
func (m *metricsListener) serveProcess(s *Server, ctx context.Context) {
	mux := http.NewServeMux()
	s.controlHandlers(mux)
	m.rest.Store(mux)
	ready := func() (bool, string) {
		if ctx.Err() != nil {
			return false, "shutting down"
		}
		return true, ""
	}
	m.ready.Store(&ready)
}

func (m *metricsListener) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
}
