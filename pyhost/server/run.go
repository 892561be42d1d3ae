package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/systemd"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// Run serves until ctx is cancelled (SIGTERM/SIGINT), then stops accepting, waits for
// in-flight requests up to the shutdown timeout and finalises Python. In order: serve on each
// listener (with a worker's Go tuner, recycling watch and the deadlock watch beside), wait for
// ctx or a listener's failure, shut the listeners down, wait for the GIL probes, finalise.
func (s *Server) Run(ctx context.Context) error {
	defer s.accessLog.Flush()
	sv := s.serve()
	if s.procs != nil {
		tunerCtx, stopTuner := context.WithCancel(ctx)
		defer stopTuner()
		go s.procs.run(tunerCtx)
	}
	if s.activity != nil {
		defer s.watchRecycling()()
	}
	var watch *deadlockWatch
	if s.cfg.DeadlockTimeout > 0 {
		watch = startDeadlockWatch(s.rt, s.log, s.cfg.DeadlockTimeout, s.deadlockRecycle)
	}
	serveErr := s.serveUntil(ctx, sv, &watch)
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	s.sdStopping()
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.shutdown(sctx, sv); err != nil {
		return err
	}
	if err := s.waitForProbes(sctx, watch); err != nil {
		return err
	}
	logCrossings(s.log)
	if err := s.finalizeWithin(sctx); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// serveUntil waits for ctx or a listener's failure (its error), pinging systemd's watchdog
// meanwhile when it asked for one (which may start *watch, the GIL probes the pings read).
func (s *Server) serveUntil(ctx context.Context, sv *serving, watch **deadlockWatch) error {
	tick, ticker, w := s.sdWatchdog(*watch)
	*watch = w
	if ticker != nil {
		defer ticker.Stop()
	}
	sd, _ := systemd.Take()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sv.errc:
			return err
		case <-tick:
			s.sdPing(w, sd.Watchdog)
		}
	}
}

// serving is what Run keeps of the listeners it serves on.
type serving struct {
	servers []httpServer
	guarded []net.Listener // the listeners, behind their connection guards
	// fresh knows the connections that have not yet sent a request.
	fresh httpd.ConnTracker
	// accepting ends when every Serve loop has returned: from then on every connection they
	// accepted has passed the ConnState hook, so fresh knows it.
	accepting sync.WaitGroup
	errc      chan error // each Serve loop's end
}

// serve starts serving on each listener.
func (s *Server) serve() *serving {
	sv := &serving{errc: make(chan error, len(s.listeners))}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	for i, ln := range s.listeners {
		lim := s.cfg.Limits
		srv := &http.Server{Handler: s.proxyHeaders().Wrap(
			observe.Wrap(s.countRequests(s.handler(i)), s.observers)),
			ErrorLog: errLog,
			// net/http's bound on the whole head (it allows 4 KiB more and answers 431 by
			// itself); the handler checks the precise limits and the request line.
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ReadHeaderTimeout: lim.HeaderTimeout,
			IdleTimeout:       lim.KeepAliveTimeout,
			ConnState: func(c net.Conn, st http.ConnState) {
				sv.fresh.Track(c, st)
				httpd.NoteConnState(c, st)
			}}
		var beforeAccept func()
		if s.newConnGrace > 0 {
			// A worker among siblings on the same sockets: leave connections to a sibling
			// with room while this one is full (twice its request threads: at 2 × 8, 32
			// kept-alive clients split 16–16; more than one per thread, so a worker whose
			// connections sit idle between requests still takes new ones).
			beforeAccept = func() { sv.fresh.WaitForRoom(2*s.cfg.Threads, acceptHoldBack) }
		}
		ln = httpd.Guard(ln, lim, s.log, beforeAccept)
		var hs httpServer = srv
		if s.routed == nil && s.cfg.HTTPServer != config.HTTPServerStdlib {
			hs = httpd.NewFastServer(srv, ln.Addr())
		}
		sv.servers = append(sv.servers, hs)
		sv.guarded = append(sv.guarded, ln)
		s.log.Info("serving", "listen", worker.ListenURL(ln.Addr()), "threads", s.cfg.Threads,
			"gil", string(s.cfg.GIL), "application_group", s.cfg.AppGroup, "python", LinkedBuild().Version)
		sv.accepting.Add(1)
		go func(ln net.Listener) {
			defer sv.accepting.Done()
			sv.errc <- hs.Serve(ln)
		}(ln)
	}
	return sv
}

// proxyHeaders resolves --trusted-proxy's header fields in front of the observers (the access
// log and metrics see the client); nil (nothing to do) when nobody is trusted, and behind the
// supervisor's front, which has resolved them already (httpd.HeaderScheme).
func (s *Server) proxyHeaders() *httpd.ProxyHeaders {
	if s.routed != nil {
		return nil
	}
	t := s.cfg.TrustedProxies
	return httpd.NewProxyHeaders(t.Prefixes, t.Unix)
}

// handler is what answers on listener i: its router, or behind the supervisor's router the
// public listeners' routers chosen by the forwarded header fields.
func (s *Server) handler(i int) http.Handler {
	var h http.Handler
	if s.routed != nil {
		h = httpd.NewForwarded(s.routed, s.frontAddrs)
	} else {
		h = httpd.NewRouter(s.routes(s.handlers[i]))
	}
	return httpd.CloseWhenDraining(&s.draining, httpd.HTTP1Rules(h, s.log))
}

// shutdown stops accepting and waits until every request still owed a response has had it,
// or sctx ends; an error means requests are still inside Python, and Python must not be
// finalised under them.
func (s *Server) shutdown(sctx context.Context, sv *serving) error {
	// The wait for connections ends early when only requests already answered by their
	// timeout are left (abandoned.go).
	wctx, cutShort := context.WithCancel(sctx)
	defer cutShort()
	go cutShortForAbandoned(wctx, &s.inflight, cutShort)
	s.drain(wctx, sv)
	shutdowns := make(chan error, len(sv.servers))
	for _, srv := range sv.servers {
		go func(srv httpServer) { shutdowns <- srv.Shutdown(wctx) }(srv)
	}
	sv.fresh.CloseNew()
	for range sv.servers {
		// The drain closed the listeners already, and net/http may close one again
		// (if its Serve loop has not yet noticed): that is no timeout.
		if err := <-shutdowns; err != nil && !errors.Is(err, net.ErrClosed) {
			if left := s.inflight.Abandoned(); sctx.Err() == nil && len(left) > 0 {
				s.logAbandoned(left)
				return errors.New("stopped with requests abandoned by --request-timeout still running")
			}
			// Requests still inside Python: finalising now would pull the interpreter out
			// from under them, so leave without it.
			s.log.Error("requests still running after the shutdown timeout; exiting without "+
				"finalising Python", "busy_threads", s.threads.Busy())
			return errors.New("shutdown timed out with requests in flight")
		}
	}
	return nil
}

// waitForProbes ends the deadlock watch (nil: none) and waits for the probes that take an
// interpreter's GIL (its own and /debug/threads'); an error means one still waits for a GIL,
// and finalising would pull the interpreter out from under it (and wait for that GIL too).
func (s *Server) waitForProbes(sctx context.Context, watch *deadlockWatch) error {
	if watch != nil && !watch.stopAndWait(max(time.Until(deadline(sctx)), time.Second)) {
		s.log.Error("an interpreter's GIL is still held (see RECYCLE NEEDED above); exiting " +
			"without finalising Python")
		return errors.New("shutdown with an interpreter's GIL held")
	}
	if s.table != nil && !s.table.WaitProbes(max(time.Until(deadline(sctx)), time.Second)) {
		s.log.Error("a /debug/threads stack request still waits for an interpreter's GIL; " +
			"exiting without finalising Python")
		return errors.New("shutdown with an interpreter's GIL held")
	}
	return nil
}

// finalizeWithin tells the apps the process stops and finalises Python, or gives up on it
// when sctx ends (at least 2 s from now): finalising waits for the app's non-daemon threads
// (as Python's own exit does), and one that never ends must not keep the server from exiting.
func (s *Server) finalizeWithin(sctx context.Context) error {
	finalized := make(chan error, 1)
	go func() { s.notifyStopping(); finalized <- s.finalize() }()
	limit := max(time.Until(deadline(sctx)), 2*time.Second)
	select {
	case err := <-finalized:
		return err
	case <-time.After(limit):
		s.log.Error("Python did not finish finalising within the shutdown timeout; a non-daemon "+
			"thread the app started is probably still running (make it a daemon thread, or "+
			"end it from an atexit handler registered before it starts); exiting without it",
			"waited", limit.Round(time.Millisecond).String())
		return errors.New("finalising Python timed out")
	}
}

func (s *Server) finalize() error { return s.rt.Finalize() }

// httpServer is what Run needs of the server on a listener: net/http's, or the fast path in
// front of it (httpd.FastServer).
type httpServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	SetKeepAlivesEnabled(bool)
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// logCrossings reports the cgo crossings the requests of this process made and how long they
// waited for the GIL (the benchmarks read this line).
func logCrossings(log *slog.Logger) {
	calls, back := cgo.Crossings()
	perRequest := 0.0
	if calls > 0 {
		perRequest = float64(calls+back) / float64(calls)
	}
	waits, waited := gil.Waits()
	meanWait := time.Duration(0)
	if waits > 0 {
		meanWait = waited / time.Duration(waits)
	}
	log.Info("request statistics", "requests", calls, "cgo_calls", calls, "callbacks", back,
		"crossings_per_request", fmt.Sprintf("%.2f", perRequest),
		"mean_gil_wait", meanWait.Round(100*time.Nanosecond).String(), "total_gil_wait", waited.Round(time.Millisecond).String())
}

// requestRecycle passes a stuck request's recycle request on to the worker's recycle, if any
// (the handler has logged it); deadlockRecycle, a stuck GIL's (the deadlock watch has).
func (s *Server) requestRecycle(detail string) {
	if s.recycle != nil {
		s.recycle(worker.RequestTimeout, detail)
	}
}

func (s *Server) deadlockRecycle(detail string) {
	if s.recycle != nil {
		s.recycle(worker.Deadlock, detail)
	}
}
