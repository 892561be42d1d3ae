package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/wsgi/request"
)

// The front: for listeners that carry the mounts of several process groups (mod_wsgi's daemon
// mode), the supervisor accepts on them itself, serves the static aliases and forwards every
// other request, by the longest mount prefix (an httpd.Router), to a process of its group over
// the Unix socket that process accepts on. It never runs Python.

// front is the supervisor's HTTP servers on the public listeners.
type front struct {
	servers  []*http.Server
	guarded  []net.Listener // the listeners, behind their connection guards
	draining atomic.Bool    // answers say Connection: close (httpd.CloseWhenDraining)
	// conns follows the clients' connections, for the drain (httpd.DrainKeptAlive).
	conns httpd.ConnTracker
	// accepting ends when every Serve loop has returned: every connection they accepted has
	// then passed the ConnState hook, so conns knows it.
	accepting sync.WaitGroup
	log       *slog.Logger
}

// frontGroup is one process group behind the front. It sends each request to the slot with
// the fewest requests in flight (the first of those after the last one picked): kept-alive
// connections belong to one process each, so balancing by connection, as the workers' accept
// would, could leave a one-thread process queueing requests while its sibling idles.
type frontGroup struct {
	name  string
	slots []*frontSlot
	next  atomic.Uint32
	// wait bounds how long a request waits for a slot of the group to have a ready worker
	// (none while all crash or are still loading): past it, 503.
	wait time.Duration
	log  *slog.Logger
}

// frontSlot is one slot (process) of a group behind the front, shared by the supervisor's loop
// and the front: whether a ready worker serves its socket (set by the supervisor), and the
// front's requests in flight to it and its connections to it, whose idle ones the supervisor
// has closed when the worker drains.
type frontSlot struct {
	accepting atomic.Bool
	inflight  atomic.Int64
	proxy     *httputil.ReverseProxy
	transport *http.Transport
}

// frontWait is how long a request waits for a ready worker of its group when no
// --queue-timeout is set (mod_wsgi's connect-timeout has the same default).
const frontWait = 15 * time.Second

// frontPoll is how often a waiting request looks again for a ready worker: waits happen
// only while a group has none (starting, or crashing), so a simple poll is enough.
const frontPoll = 20 * time.Millisecond

// frontIdleTimeout bounds how long a connection to a worker may sit idle in the front's
// pool: also how long a draining worker may wait for the front to let go of one that
// closeIdleSoon missed.
const frontIdleTimeout = 5 * time.Second

// newFrontGroup is group name behind the front; wait is its --queue-timeout (0: frontWait).
func newFrontGroup(name string, wait time.Duration, log *slog.Logger) *frontGroup {
	if wait <= 0 {
		wait = frontWait
	}
	return &frontGroup{name: name, wait: wait, log: log}
}

// addSlot adds a slot whose workers accept on the Unix socket at socket.
func (g *frontGroup) addSlot(socket string) *frontSlot {
	sl := &frontSlot{}
	sl.proxy, sl.transport = slotProxy(g.name, socket, g.log)
	g.slots = append(g.slots, sl)
	return sl
}

// pick returns the accepting slot with the fewest requests in flight, or nil.
func (g *frontGroup) pick() *frontSlot {
	start := int(g.next.Add(1))
	var best *frontSlot
	for i := range g.slots {
		sl := g.slots[(start+i)%len(g.slots)]
		if sl.accepting.Load() && (best == nil || sl.inflight.Load() < best.inflight.Load()) {
			best = sl
		}
	}
	return best
}

func (g *frontGroup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	best := g.pick()
	if best == nil {
		best = g.waitForWorker(r)
		if best == nil {
			if r.Context().Err() == nil {
				g.log.Warn("request refused: no worker of its process group became ready in "+
					"time; answered 503 (the group's workers are starting, or failing to: see "+
					"their log lines above)", "process_group", g.name, "path", r.URL.Path,
					"waited", g.wait.String())
				w.Header().Set("Retry-After", "1")
				http.Error(w, "503 the application's processes are not ready",
					http.StatusServiceUnavailable)
			}
			return
		}
	}
	best.inflight.Add(1)
	defer best.inflight.Add(-1)
	observe.PassedOn(w, true) // the worker counts and logs it (unless ErrorHandler answers)
	best.proxy.ServeHTTP(w, r)
}

// waitForWorker waits up to g.wait for a slot of the group to accept; nil if none did or
// the client left.
func (g *frontGroup) waitForWorker(r *http.Request) *frontSlot {
	timeout := time.NewTimer(g.wait)
	defer timeout.Stop()
	tick := time.NewTicker(frontPoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if sl := g.pick(); sl != nil {
				return sl
			}
		case <-timeout.C:
			return g.pick()
		case <-r.Context().Done():
			return nil
		}
	}
}

// atListener marks a request with the public listener it came in on, for the worker.
type atListener struct {
	index string
	next  http.Handler
}

func (a atListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header.Set(httpd.HeaderListener, a.index)
	a.next.ServeHTTP(w, r)
}

// closeIdleSoon closes the front's idle connections to the slot's socket, as its worker
// starts draining: now and twice more, since a connection whose response left the worker just
// before it marked its answers Connection: close goes back to the pool a moment later. A
// draining worker behind the front never closes an idle connection itself
// (httpd.CloseWhenDraining): a request the front sent on a connection the worker closed at
// that instant would be lost, and one with a body (a POST) cannot be retried. The front
// closing its own idle connections races with nothing.
func (sl *frontSlot) closeIdleSoon() {
	t := sl.transport
	t.CloseIdleConnections()
	time.AfterFunc(100*time.Millisecond, t.CloseIdleConnections)
	time.AfterFunc(time.Second, t.CloseIdleConnections)
}

// slotProxy forwards requests to one slot of group over its Unix socket: kept-alive
// connections, bodies streamed both ways.
func slotProxy(group, socket string, log *slog.Logger) (*httputil.ReverseProxy, *http.Transport) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     frontIdleTimeout,
		DisableCompression:  true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "pyhost-group"
			pr.Out.Host = pr.In.Host // the app sees the client's Host (SERVER_NAME)
			pr.Out.Header.Set(httpd.HeaderClient, pr.In.RemoteAddr)
			scheme := request.Scheme(pr.In.Context()) // a trusted proxy's word (startFront)
			if scheme == "" {
				scheme = "http"
			}
			pr.Out.Header.Set(httpd.HeaderScheme, scheme)
			// ReverseProxy drops these before Rewrite; the app sees them as sent, as it
			// would without the front (trusted or not, they are the client's headers).
			for _, k := range proxyFields {
				if v, ok := pr.In.Header[k]; ok {
					pr.Out.Header[k] = v
				}
			}
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil { // the client went away
				return
			}
			observe.PassedOn(w, false) // no worker answered: the router did
			log.Warn("could not pass a request to its process group's workers", "process_group", group,
				"path", r.URL.Path, "error", err)
			http.Error(w, "502 the application's processes did not answer", http.StatusBadGateway)
		},
	}, transport
}

// proxyFields are the header fields httputil.ReverseProxy removes before Rewrite.
var proxyFields = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// startFront serves each listener with an httpd.Router over the static aliases and the
// mounts (a mount prefix and its group). The trusted proxies' header fields are resolved here,
// once: the workers behind take the client, Host and scheme the front forwards. observers see
// the requests it answers itself.
func startFront(lns []net.Listener, mounts map[string]*frontGroup, static []config.StaticAlias,
	lim request.Limits, trust config.TrustedProxies, observers []observe.Observer,
	log *slog.Logger) (*front, error) {
	var statics []httpd.Route
	for _, a := range static {
		sf, err := httpd.NewStaticFiles(a.Prefix, a.Dir)
		if err != nil {
			return nil, err
		}
		statics = append(statics, httpd.Route{Prefix: a.Prefix, Handler: sf})
	}
	f := &front{log: log}
	for i, ln := range lns {
		routes := append([]httpd.Route(nil), statics...)
		for prefix, g := range mounts {
			routes = append(routes, httpd.Route{Prefix: prefix,
				Handler: atListener{strconv.Itoa(i), g}})
		}
		proxies := httpd.NewProxyHeaders(trust.Prefixes, trust.Unix)
		h := observe.Wrap(httpd.CloseWhenDraining(&f.draining,
			httpd.HTTP1Rules(httpd.NewRouter(routes), log)), observers)
		srv := &http.Server{Handler: proxies.Wrap(h),
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ReadHeaderTimeout: lim.HeaderTimeout,
			IdleTimeout:       lim.KeepAliveTimeout,
			ConnState: func(c net.Conn, st http.ConnState) {
				f.conns.Track(c, st)
				httpd.NoteConnState(c, st)
			},
		}
		// The same guards as a worker's own listeners: the write timeout, 408 for a stalled
		// head, 414 for an endless request line, and a log line for net/http's refusals.
		gl := httpd.Guard(ln, lim, log, nil)
		f.servers = append(f.servers, srv)
		f.guarded = append(f.guarded, gl)
		log.Info("serving", "listen", worker.ListenURL(ln.Addr()), "routes", len(routes))
		f.accepting.Add(1)
		go func() {
			defer f.accepting.Done()
			_ = srv.Serve(gl)
		}()
	}
	return f, nil
}

// shutdown stops accepting, drains the clients' kept-alive connections as a single process
// does (drain) and waits for the requests in flight (up to timeout), so the workers drain
// only once nothing more can reach them. A nil front does nothing.
func (f *front) shutdown(timeout time.Duration) {
	if f == nil {
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	f.drain(ctx, start, timeout)
	done := make(chan struct{}, len(f.servers))
	for _, srv := range f.servers {
		go func(srv *http.Server) {
			// The drain closed the listeners already: net/http closing one again is no
			// timeout.
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				f.log.Warn("requests still in flight at the shutdown timeout", "error", err)
			}
			done <- struct{}{}
		}(srv)
	}
	for range f.servers {
		<-done
	}
}

// drain is how the front's stop begins: it stops accepting, marks every answer from now on
// Connection: close, closes the connections that have not sent a request yet, and gives the
// kept-alive ones the drain window to send one more request before the idle ones are closed
// (httpd.DrainKeptAlive). http.Server.Shutdown alone closes those at once, and a client that
// sent a request on one at that instant read EOF (README, "Rollouts").
// A connection accept(2) returned just before the listener closed reaches the ConnState
// hook a moment later, from the Serve loop: waiting for the loops first keeps it from being
// missed.
func (f *front) drain(ctx context.Context, start time.Time, timeout time.Duration) {
	for _, ln := range f.guarded {
		ln.Close()
	}
	loopsDone := make(chan struct{})
	go func() { f.accepting.Wait(); close(loopsDone) }()
	select {
	case <-loopsDone:
	case <-ctx.Done():
	}
	f.draining.Store(true)
	f.conns.CloseNew()
	httpd.DrainKeptAlive(ctx, &f.conns, start, httpd.DrainIdleWindow(timeout), f.servers, f.log)
}
