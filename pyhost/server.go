package pyhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/wsgi"
)

// Server hosts one WSGI application in this process.
type Server struct {
	cfg Config
	log *slog.Logger
	rt  *cgo.Runtime
}

// ErrAppLoad means the application could not be imported; the traceback was logged.
var ErrAppLoad = errors.New("the WSGI application failed to load")

// New validates cfg and starts the embedded Python runtime with the app loaded.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	exe, _ := os.Executable()
	rt, err := cgo.Initialize(cgo.Config{ProgramName: exe, PythonHome: cfg.PythonHome, EnableGIL: -1})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, rt: rt}
	app := cgo.AppSpec{Target: cfg.App, Callable: cfg.Callable, PythonPath: cfg.PythonPath,
		Chdir: cfg.Chdir}
	if err := rt.Setup(rt.Main(), app, cfg.Threads != 1, false); err != nil {
		var pyErr *cgo.PythonError
		if errors.As(err, &pyErr) {
			log.Error("could not load the WSGI application", "app", cfg.App,
				"traceback", pyErr.Traceback)
			_ = rt.Finalize()
			return nil, fmt.Errorf("%w: %s", ErrAppLoad, lastLine(pyErr.Traceback))
		}
		_ = rt.Finalize()
		return nil, err
	}
	return s, nil
}

// Run serves until ctx is cancelled (SIGTERM/SIGINT), then stops accepting, waits for
// in-flight requests up to the shutdown timeout and finalises Python.
func (s *Server) Run(ctx context.Context) error {
	handler := &wsgi.Handler{
		Interp:  s.rt.Main(),
		Threads: gil.NewLimiter(s.cfg.Threads),
		Log:     s.log,
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	var listeners []net.Listener
	for _, addr := range s.cfg.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			_ = s.rt.Finalize()
			return fmt.Errorf("--listen %s: %w", addr, err)
		}
		listeners = append(listeners, ln)
	}
	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		s.log.Info("serving", "listen", "http://"+ln.Addr().String(), "app", s.cfg.App,
			"threads", s.cfg.Threads, "python", cgo.Version())
		go func(ln net.Listener) { errc <- srv.Serve(ln) }(ln)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still inside Python: finalising now would pull the interpreter out from
		// under them, so leave without it.
		s.log.Error("requests still running after the shutdown timeout; exiting without "+
			"finalising Python", "busy_threads", handler.Threads.Busy())
		return errors.New("shutdown timed out with requests in flight")
	}
	logCrossings(s.log)
	if err := s.finalize(); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

var finalizeOnce sync.Once

func (s *Server) finalize() error {
	var err error
	finalizeOnce.Do(func() { err = s.rt.Finalize() })
	return err
}

func lastLine(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}

// logCrossings reports the cgo crossings the requests of this process made (the benchmark
// reads this line).
func logCrossings(log *slog.Logger) {
	calls, back := cgo.Crossings()
	perRequest := 0.0
	if calls > 0 {
		perRequest = float64(calls+back) / float64(calls)
	}
	log.Info("request statistics", "requests", calls, "cgo_calls", calls, "callbacks", back,
		"crossings_per_request", fmt.Sprintf("%.2f", perRequest))
}
