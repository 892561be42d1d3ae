package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/subinterp"
	"github.com/pyhost/pyhost/wsgi"
)

// Options is everything New needs; nothing is set on a Server after it.
type Options struct {
	// Config is the validated or unvalidated configuration (New validates it).
	Config config.Config
	Log    *slog.Logger
	// Worker, when set, makes this server one worker of a supervisor (--processes); nil is
	// the single-process server, which opens Config.Listen itself.
	Worker *WorkerLink
}

// WorkerLink is what a worker's server gets from its supervisor.
type WorkerLink struct {
	// Listeners are the sockets the supervisor bound: one per Config.Listen, in order, or
	// for a worker behind the supervisor's front (FrontAddrs set) the front's one Unix socket.
	Listeners []net.Listener
	// FrontAddrs, for a worker of one of several process groups, are the public listener
	// addresses on which the supervisor's front accepts the requests it forwards to this
	// worker (nil: the worker accepts on Listeners itself).
	FrontAddrs []string
	// Control is the worker control channel, on which the server answers the supervisor's
	// queries (metrics, threads) from New until the process exits; nil: none.
	Control net.Listener
	// Recycle asks the supervisor for a replacement: when a recycling limit (Config.Recycle)
	// is reached, when a request that passed --request-timeout has not unwound within
	// --interrupt-timeout (its request thread is lost until it does), or when an
	// interpreter's GIL could not be taken for --deadlock-timeout. Called from a timer
	// goroutine, possibly more than once. nil: the condition is only logged.
	Recycle func(reason worker.RecycleReason, detail string)
}

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
	// front's Unix socket; frontAddrs are those public listeners (WorkerLink.FrontAddrs).
	routed     []*httpd.Router
	frontAddrs []string

	// recycle is the worker's WorkerLink.Recycle, wrapped so that its detail becomes the
	// apps' process_stopping detail too (nil: single process; see stopping.go).
	recycle func(reason worker.RecycleReason, detail string)
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
	// draining: the process drains (its answers close their connections:
	// httpd.CloseWhenDraining; drain.go).
	draining atomic.Bool
	// accessLog, when buffered, is flushed as Run ends.
	accessLog *observe.AccessLog
	// extNotes: what was said about the apps' extension modules (extload.go).
	extNotes extNotes
	// inflight tells a stop which requests still owe a response (abandoned.go).
	inflight wsgi.InFlight
	// auto: where --application-group auto placed each mount (placement.go).
	auto placements
	// procs shapes Go's scheduler to the app's requests in a worker among siblings (nil
	// otherwise: goprocs.go).
	procs *goProcsTuner
	// gil: what switched the GIL back on, per application group (gilwatch.go).
	gil gilWatch
	// single: the single-process server, which talks to systemd (systemd.go); false in a
	// worker, whose supervisor does.
	single bool
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

// New validates the configuration, starts the embedded runtime, opens the listeners (or takes
// the worker's), loads the apps of %{GLOBAL} (and, with Preload, of every group) and, in a
// worker, starts answering on its control channel. Run serves.
func New(opts Options) (*Server, error) {
	cfg, log := opts.Config, opts.Log
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
		mounts: cfg.AllMounts(), accessLog: al}
	s.observeRequests()
	s.startGILWatch()
	// wsgi.multiprocess follows the seed's rule: true whenever --processes is given.
	s.groups.SetMultiprocess(cfg.Processes > 0)
	s.groups.SetProcessFacts(cgo.ProcessFacts{ProcessGroup: config.ProcessGroupName(cfg.ProcessGroup), GILMode: string(cfg.GIL),
		MaximumProcesses: max(cfg.Processes, 1), ThreadsPerProcess: cfg.Threads})
	s.single = opts.Worker == nil
	sizeProcsForParallelPython(cfg, log)
	if w := opts.Worker; w != nil {
		s.newConnGrace = workerNewConnGrace
		s.procs = newGoProcsTuner(cfg, log)
		s.recycle = s.recycling(w.Recycle)
		if s.recycle != nil && cfg.Recycle.Recycles() {
			s.activity = newRequestActivity(cfg.Recycle)
		}
	}
	if err := s.listen(opts.Worker); err != nil {
		_ = s.finalize()
		return nil, err
	}
	if err := s.preload(); err != nil {
		s.closeListeners()
		_ = s.finalize()
		return nil, err
	}
	if opts.Worker != nil && opts.Worker.Control != nil {
		s.serveControl(opts.Worker.Control)
	}
	return s, nil
}

// observeRequests sets up what sees every request: the metrics (with --metrics-listen) and
// the access log.
func (s *Server) observeRequests() {
	if s.cfg.MetricsListen != "" {
		s.table = wsgi.NewThreadTable(s.cfg.Threads)
		s.metrics = observe.NewMetrics(observe.MetricsOptions{ProcessGroup: s.cfg.ProcessGroup,
			Threads: s.threads, FreeThreaded: cgo.IsFreeThreadedBuild() && s.cfg.GIL == gil.Free})
		s.observers = append(s.observers, s.metrics.Observe)
	}
	if s.accessLog != nil {
		s.observers = append(s.observers, s.accessLog.Observe)
	}
}

// listen sets up the static aliases and the listeners with their handlers: a worker's
// inherited ones (w set), or ones opened here on cfg.Listen.
func (s *Server) listen(w *WorkerLink) error {
	for _, a := range s.cfg.Static {
		sf, err := httpd.NewStaticFiles(a.Prefix, a.Dir)
		if err != nil {
			return err
		}
		s.static = append(s.static, httpd.Route{Prefix: a.Prefix, Handler: sf})
	}
	if w != nil && w.FrontAddrs != nil {
		s.frontAddrs = w.FrontAddrs
		return s.listenRouted(w.Listeners)
	}
	if w != nil {
		// The supervisor's sockets: its --listen, or those systemd passed it (which a
		// worker's --listen, read from the same arguments, does not know).
		s.listeners = w.Listeners
		s.addHandlers()
		return nil
	}
	if activated, err := s.activatedListeners(); err != nil || activated {
		s.addHandlers()
		return err
	}
	for _, addr := range s.cfg.Listen {
		// Bound after --user/--group took effect: a Unix socket's file is theirs.
		lns, _, err := worker.Listen([]string{addr}, worker.KeepOwner(s.cfg.SocketMode))
		if err != nil {
			s.closeListeners()
			return err
		}
		s.listeners = append(s.listeners, lns[0])
	}
	s.addHandlers()
	return nil
}

// addHandlers gives every listener its handlers, one per mount.
func (s *Server) addHandlers() {
	for _, ln := range s.listeners {
		var hs []*wsgi.Handler
		for _, m := range s.mounts {
			hs = append(hs, s.newHandler(m, worker.AddrString(ln.Addr())))
		}
		s.handlers = append(s.handlers, hs)
	}
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
		GILTurnedOn:     s.gilTurnedOnHook(group),
	}
}

// load creates the group if needed and imports the app into it, logging a failure in full
// once (with advice when an extension cannot live in a sub-interpreter).
func (s *Server) load(group string, m config.Mount, spec cgo.AppSpec) (*subinterp.App, error) {
	if m.AppGroup == config.AppGroupAuto {
		return s.loadAuto(group, m, spec)
	}
	start := time.Now()
	g, err := s.groups.Group(group)
	if err != nil {
		s.log.Error("could not create the application group", "application_group", group, "error", err)
		return nil, err
	}
	app, err := s.groups.Load(g, spec)
	if err != nil {
		var pyErr *cgo.PythonError
		if errors.As(err, &pyErr) {
			attrs := []any{"app", m.App, "mount", m.Prefix, "application_group", group}
			msg := "could not load the WSGI application"
			if more, what, first, ok := s.explainExtFailure(group, m, pyErr.Traceback); ok {
				attrs = append(attrs, more...)
				msg += ": " + what
				if !first { // the mount's retry: explained in full the first time
					s.log.Error(msg+" (explained above)", attrs[:8]...)
					return nil, fmt.Errorf("%w: %s", ErrAppLoad, pyErr.Summary())
				}
			}
			s.log.Error(msg, append(attrs, "traceback", pyErr.Traceback)...)
			return nil, fmt.Errorf("%w: %s", ErrAppLoad, pyErr.Summary())
		}
		s.log.Error("could not load the WSGI application", "app", m.App, "application_group", group, "error", err)
		return nil, err
	}
	s.log.Info("loaded WSGI application", "app", m.App, "mount", m.Prefix, "application_group", group,
		"interpreters", g.Size(), "gil", string(s.cfg.GIL), "took", time.Since(start).Round(time.Millisecond).String())
	s.metrics.Loaded(g.Name, g.Size(), s.cfg.GIL)
	s.reportGIL(g)
	s.warnSharedExtensions(g)
	return app, nil
}

// preload loads %{GLOBAL}'s apps (always: an import error there stops the start, as with
// mod_wsgi-express) and, with --preload or --reload, every group's (a reloaded worker must
// fail to start, leaving the old one serving, when any of the new code does not import).
func (s *Server) preload() error {
	for _, hs := range s.handlers {
		for i, h := range hs {
			if s.mounts[i].AppGroup != config.AppGroupGlobal && !s.cfg.Preload && !s.cfg.Reload {
				continue
			}
			if _, err := h.Preload(); err != nil {
				return err
			}
		}
	}
	return nil
}
