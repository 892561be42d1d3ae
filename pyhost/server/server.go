package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/observe"
	workerproto "github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/subinterp"
	"github.com/pyhost/pyhost/wsgi"
)

// Server hosts WSGI applications in this process.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	rt        *cgo.Runtime
	groups    *subinterp.Registry
	threads   *gil.Limiter
	mounts    []config.Mount // cfg.AllMounts(), resolved once
	listeners []net.Listener
	handlers  [][]*wsgi.Handler // per listener, per mount (same order as mounts)
	static    []httpd.Route     // the static aliases
	// routed: per public listener, its router, when the one listener is the supervisor's
	// Unix socket (config.Config.Routed).
	routed []*httpd.Router

	// RequestRecycle, when set before Run, is called when a request that passed
	// --request-timeout has not unwound within --interrupt-timeout (its request thread is
	// lost until it does), or when an interpreter's GIL could not be taken for
	// --deadlock-timeout: the process should be recycled gracefully (a process supervisor's
	// job). Called from a timer goroutine, once per stuck request or GIL. Unset, the
	// condition is only logged.
	RequestRecycle func(reason workerproto.RecycleReason, detail string)

	// activity counts requests for the recycling limits (nil: not counted; see recycle.go).
	activity *requestActivity

	// newConnGrace is how long, once shutdown starts, connections accepted just before may
	// take to send their first request before they are closed as unused (0: closed at once).
	newConnGrace time.Duration
	// observers see every request once it has ended (metrics, access log); none by default.
	observers []observe.Observer
	// stopReason is why the process stops, for the apps' process_stopping event (stopping.go).
	stopReason stopReason
	// metrics: this process's registry (nil without --metrics-listen: its methods then keep
	// nothing).
	metrics *observe.Metrics
	// table follows what every request thread does now (/debug/threads).
	table *wsgi.ThreadTable
	// draining: a worker behind the router is draining (its answers close their connections:
	// httpd.CloseWhenDraining).
	draining atomic.Bool
	// accessLog, when buffered, is flushed as Run ends.
	accessLog *observe.AccessLog
	// inflight tells a stop which requests still owe a response (abandoned.go).
	inflight wsgi.InFlight
	// procs shapes Go's scheduler to the app's requests in a worker among siblings (nil
	// otherwise: goprocs.go).
	procs *goProcsTuner
}

// workerNewConnGrace: a worker drains while its listening sockets stay open elsewhere (in the
// supervisor and the other workers), so a connection it accepted an instant before SIGTERM is
// a client's request on its way, not one to refuse: it gets a second to arrive.
const workerNewConnGrace = time.Second

// acceptHoldBack is how long a full worker leaves a new connection to its siblings before it
// accepts it anyway.
const acceptHoldBack = 10 * time.Millisecond

// ErrAppLoad means an application could not be imported; the traceback was logged.
var ErrAppLoad = errors.New("the WSGI application failed to load")

// LinkedBuild describes the CPython this binary is linked against.
func LinkedBuild() gil.Build {
	hex := cgo.VersionHex()
	return gil.Build{
		VersionHex:   hex,
		Version:      strings.Fields(cgo.Version())[0],
		FreeThreaded: cgo.IsFreeThreadedBuild(),
	}
}

// New validates cfg, starts the embedded runtime, opens the listeners and loads the apps of
// %{GLOBAL} (and, with Preload, of every group).
func New(cfg config.Config, log *slog.Logger) (*Server, error) { return newServer(cfg, log, nil) }

// newServer is New serving on listeners a supervisor opened (inherited: one per cfg.Listen,
// in order) or, when inherited is nil, on listeners it opens itself.
func newServer(cfg config.Config, log *slog.Logger, inherited []net.Listener) (*Server, error) {
	if err := cfg.Validate(LinkedBuild()); err != nil {
		return nil, err
	}
	al, err := observe.OpenAccessLog(cfg.Logs, cfg.ProcessGroup, log)
	if err != nil {
		return nil, err
	}
	exe, _ := os.Executable()
	rt, err := cgo.Initialize(cgo.Config{ProgramName: exe, PythonHome: cfg.PythonHome,
		EnableGIL: cfg.GIL.EnableGIL(), Log: log})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, rt: rt, threads: gil.NewLimiter(cfg.Threads),
		groups: subinterp.NewRegistry(rt, cfg.GIL, cfg.Interpreters, cfg.Threads != 1),
		mounts: cfg.AllMounts()}
	if inherited != nil {
		s.newConnGrace = workerNewConnGrace
		s.procs = newGoProcsTuner(cfg, log)
	}
	if cfg.MetricsListen != "" {
		s.table = wsgi.NewThreadTable(cfg.Threads)
		s.metrics = observe.NewMetrics(observe.MetricsOptions{ProcessGroup: cfg.ProcessGroup,
			Threads: s.threads, FreeThreaded: cgo.IsFreeThreadedBuild() && cfg.GIL == gil.Free})
		s.observers = append(s.observers, s.metrics.Observe)
	}
	// wsgi.multiprocess follows the seed's rule: true whenever --processes is given.
	s.groups.SetMultiprocess(cfg.Processes > 0)
	s.groups.SetProcessFacts(cgo.ProcessFacts{ProcessGroup: cfg.ProcessGroup, GILMode: string(cfg.GIL),
		MaximumProcesses: max(cfg.Processes, 1), ThreadsPerProcess: cfg.Threads})
	if al != nil {
		s.accessLog = al
		s.observers = append(s.observers, al.Observe)
	}
	if err := s.listen(inherited); err != nil {
		_ = s.finalize()
		return nil, err
	}
	if err := s.preload(); err != nil {
		s.closeListeners()
		_ = s.finalize()
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(inherited []net.Listener) error {
	for _, a := range s.cfg.Static {
		sf, err := httpd.NewStaticFiles(a.Prefix, a.Dir)
		if err != nil {
			return err
		}
		s.static = append(s.static, httpd.Route{Prefix: a.Prefix, Handler: sf})
	}
	if s.cfg.Routed != nil {
		return s.listenRouted(inherited)
	}
	for i, addr := range s.cfg.Listen {
		var ln net.Listener
		if inherited != nil {
			ln = inherited[i]
		} else {
			var err error
			if ln, err = net.Listen("tcp", addr); err != nil {
				s.closeListeners()
				return fmt.Errorf("--listen %s: %w", addr, err)
			}
		}
		s.listeners = append(s.listeners, ln)
		var hs []*wsgi.Handler
		for _, m := range s.mounts {
			hs = append(hs, s.newHandler(m, ln.Addr().String()))
		}
		s.handlers = append(s.handlers, hs)
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range s.listeners {
		ln.Close()
	}
}

func (s *Server) newHandler(m config.Mount, listenAddr string) *wsgi.Handler {
	scriptName := strings.TrimSuffix(m.Prefix, "/")
	group := config.AppGroupName(m.AppGroup, listenAddr, scriptName)
	spec := cgo.AppSpec{Target: m.App, Callable: m.Callable, PythonPath: s.cfg.PythonPath,
		Chdir: s.cfg.Chdir}
	return &wsgi.Handler{
		Threads:         s.threads,
		ScriptName:      scriptName,
		Log:             s.log,
		Limits:          s.cfg.Limits,
		TrustRequestID:  s.cfg.Logs.TrustRequestID,
		Load:            func() (*subinterp.App, error) { return s.load(group, m, spec) },
		Recycle:         s.requestRecycle,
		InFlight:        &s.inflight,
		Table:           s.table,
		CallClock:       s.procs.callClock(),
		YieldBeforeCall: s.procs.yieldFlag(),
	}
}

// load creates the group if needed and imports the app into it, logging a failure in full
// once (with advice when an extension cannot live in a sub-interpreter).
func (s *Server) load(group string, m config.Mount, spec cgo.AppSpec) (*subinterp.App, error) {
	start := time.Now()
	g, err := s.groups.Group(group)
	if err != nil {
		s.log.Error("could not create the application group", "group", group, "error", err)
		return nil, err
	}
	app, err := s.groups.Load(g, spec)
	if err != nil {
		var pyErr *cgo.PythonError
		if errors.As(err, &pyErr) {
			attrs := []any{"app", m.App, "mount", m.Prefix, "group", group, "traceback", pyErr.Traceback}
			if mod, ok := subinterp.UnsupportedModule(pyErr.Traceback); ok {
				attrs = append(attrs, "module", mod, "remedy", subinterp.Remedy(mod, group))
			}
			s.log.Error("could not load the WSGI application", attrs...)
			return nil, fmt.Errorf("%w: %s", ErrAppLoad, pyErr.Summary())
		}
		s.log.Error("could not load the WSGI application", "app", m.App, "group", group, "error", err)
		return nil, err
	}
	s.log.Info("loaded WSGI application", "app", m.App, "mount", m.Prefix, "group", group,
		"interpreters", g.Size(), "gil", string(s.cfg.GIL), "took", time.Since(start).Round(time.Millisecond).String())
	s.metrics.Loaded(g.Name, g.Size(), s.cfg.GIL)
	s.reportGIL(g)
	return app, nil
}

// reportGIL says when an extension switched the GIL back on in a free-threaded build (each
// interpreter has its own switch).
func (s *Server) reportGIL(g *subinterp.Group) {
	if !cgo.IsFreeThreadedBuild() || s.cfg.GIL != gil.Free {
		return
	}
	for _, in := range g.Interps() {
		enabled, mods := s.rt.GILReport(in)
		s.metrics.GILReport(g.Name, enabled)
		if enabled {
			s.log.Warn("the GIL is enabled again: an extension module did not declare "+
				"free-threading support, so requests take turns on the GIL",
				"group", g.Name, "modules", strings.Join(mods, ","))
			return
		}
	}
}

// preload loads %{GLOBAL}'s apps (always: an import error there stops the start, as with
// mod_wsgi-express) and, with --preload, every group's.
func (s *Server) preload() error {
	for _, hs := range s.handlers {
		for i, h := range hs {
			if s.mounts[i].AppGroup != config.AppGroupGlobal && !s.cfg.Preload {
				continue
			}
			if _, err := h.Preload(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run serves until ctx is cancelled (SIGTERM/SIGINT), then stops accepting, waits for
// in-flight requests up to the shutdown timeout and finalises Python.
func (s *Server) Run(ctx context.Context) error {
	defer s.accessLog.Flush()
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	var fresh httpd.ConnTracker
	var servers []httpServer
	var guarded []net.Listener
	errc := make(chan error, len(s.listeners))
	// accepting ends when every Serve loop has returned: from then on every connection they
	// accepted has passed the ConnState hook, so fresh knows it.
	var accepting sync.WaitGroup
	for i, ln := range s.listeners {
		lim := s.cfg.Limits
		var handler http.Handler
		if s.routed != nil {
			handler = httpd.CloseWhenDraining(&s.draining, httpd.NewForwarded(s.routed, s.cfg.Routed))
		} else {
			handler = httpd.NewRouter(s.routes(s.handlers[i]))
		}
		handler = httpd.HTTP1Rules(handler, s.log)
		srv := &http.Server{Handler: observe.Wrap(s.countRequests(handler), s.observers), ErrorLog: errLog,
			// net/http's bound on the whole head (it allows 4 KiB more and answers 431 by
			// itself); the handler checks the precise limits and the request line.
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ReadHeaderTimeout: lim.HeaderTimeout,
			IdleTimeout:       lim.KeepAliveTimeout,
			ConnState: func(c net.Conn, st http.ConnState) {
				fresh.Track(c, st)
				httpd.NoteConnState(c, st)
			}}
		var beforeAccept func()
		if s.newConnGrace > 0 {
			// A worker among siblings on the same sockets: leave connections to a sibling
			// with room while this one is full (twice its request threads: at 2 × 8, 32
			// kept-alive clients split 16–16; more than one per thread, so a worker whose
			// connections sit idle between requests still takes new ones).
			beforeAccept = func() { fresh.WaitForRoom(2*s.cfg.Threads, acceptHoldBack) }
		}
		ln = httpd.Guard(ln, lim, s.log, beforeAccept)
		var hs httpServer = srv
		if s.routed == nil && s.cfg.HTTPServer != config.HTTPServerStdlib {
			hs = httpd.NewFastServer(srv, ln.Addr())
		}
		servers = append(servers, hs)
		guarded = append(guarded, ln)
		s.log.Info("serving", "listen", "http://"+ln.Addr().String(), "threads", s.cfg.Threads,
			"gil", string(s.cfg.GIL), "group", s.cfg.AppGroup, "python", LinkedBuild().Version)
		accepting.Add(1)
		go func(ln net.Listener) {
			defer accepting.Done()
			errc <- hs.Serve(ln)
		}(ln)
	}
	if s.procs != nil {
		tunerCtx, stopTuner := context.WithCancel(ctx)
		defer stopTuner()
		go s.procs.run(tunerCtx)
	}
	var watch *deadlockWatch
	if s.cfg.DeadlockTimeout > 0 {
		watch = startDeadlockWatch(s.rt, s.log, s.cfg.DeadlockTimeout, s.deadlockRecycle)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// The wait for connections ends early when only requests already answered by their
	// timeout are left (abandoned.go).
	wctx, cutShort := context.WithCancel(sctx)
	defer cutShort()
	go cutShortForAbandoned(wctx, &s.inflight, cutShort)
	if s.newConnGrace > 0 {
		s.drainBeforeShutdown(wctx, guarded, servers, &fresh, &accepting)
	}
	shutdowns := make(chan error, len(servers))
	for _, srv := range servers {
		go func(srv httpServer) { shutdowns <- srv.Shutdown(wctx) }(srv)
	}
	fresh.CloseNew()
	for range servers {
		// A worker's drain closed its listeners already, and net/http may close one again
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
	if watch != nil && !watch.stopAndWait(max(time.Until(deadline(sctx)), time.Second)) {
		// A probe still waits for a GIL: finalising would pull the interpreter out from
		// under it (and wait for that GIL too).
		s.log.Error("an interpreter's GIL is still held (see RECYCLE NEEDED above); exiting " +
			"without finalising Python")
		return errors.New("shutdown with an interpreter's GIL held")
	}
	if s.table != nil && !s.table.WaitProbes(max(time.Until(deadline(sctx)), time.Second)) {
		s.log.Error("a /debug/threads stack request still waits for an interpreter's GIL; " +
			"exiting without finalising Python")
		return errors.New("shutdown with an interpreter's GIL held")
	}
	logCrossings(s.log)
	// Finalising waits for the app's non-daemon threads (as Python's own exit does); one that
	// never ends must not keep the server from exiting.
	finalized := make(chan error, 1)
	go func() { s.notifyStopping(); finalized <- s.finalize() }()
	limit := max(time.Until(deadline(sctx)), 2*time.Second)
	select {
	case err := <-finalized:
		if err != nil {
			return err
		}
	case <-time.After(limit):
		s.log.Error("Python did not finish finalising within the shutdown timeout; a non-daemon "+
			"thread the app started is probably still running (make it a daemon thread, or "+
			"end it from an atexit handler registered before it starts); exiting without it",
			"waited", limit.Round(time.Millisecond).String())
		return errors.New("finalising Python timed out")
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// requestRecycle passes a stuck request's recycle request on to RequestRecycle, if set (the
// handler has logged it); deadlockRecycle, a stuck GIL's (the deadlock watch has).
func (s *Server) requestRecycle(detail string) {
	if s.RequestRecycle != nil {
		s.RequestRecycle(workerproto.RequestTimeout, detail)
	}
}

func (s *Server) deadlockRecycle(detail string) {
	if s.RequestRecycle != nil {
		s.RequestRecycle(workerproto.Deadlock, detail)
	}
}

// drainBeforeShutdown is a worker's graceful stop, done before Shutdown because net/http's
// Shutdown drops a request it reads after shutdown began (it closes the connection
// unanswered), and a worker's connections are requests on their way, not ones to refuse.
// It stops accepting, turns keep-alive off (idle connections close, busy ones close after
// their response; behind the router, the router closes the idle ones instead:
// httpd.CloseWhenDraining), lets connections accepted just before deliver their requests,
// and waits until every connection has closed or ctx ends; Shutdown then has nothing left
// to drop.
// A connection accept(2) returned just before the close reaches the ConnState hook a moment
// later, from the Serve loop: waiting for the loops to return first keeps it from being
// missed (the process then exited under it, and its client read EOF).
func (s *Server) drainBeforeShutdown(ctx context.Context, listeners []net.Listener,
	servers []httpServer, fresh *httpd.ConnTracker, accepting *sync.WaitGroup) {
	for _, ln := range listeners {
		ln.Close()
	}
	loopsDone := make(chan struct{})
	go func() { accepting.Wait(); close(loopsDone) }()
	select {
	case <-loopsDone:
	case <-ctx.Done():
	}
	if s.routed != nil {
		s.draining.Store(true) // the router closes the idle connections (httpd.CloseWhenDraining)
	} else {
		for _, srv := range servers {
			srv.SetKeepAlivesEnabled(false)
		}
	}
	fresh.WaitForRequests(s.newConnGrace)
	fresh.CloseNew()
	fresh.WaitAllClosed(ctx)
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
