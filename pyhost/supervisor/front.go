package supervisor

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/wsgi/request"
)

// The supervisor's router, for listeners that carry the mounts of several process groups
// (mod_wsgi's daemon mode): it accepts on them, serves the static aliases itself and passes
// every other request, by the longest prefix, to its group's workers over the Unix socket
// they accept on. It never runs Python.

type frontend struct {
	servers []*http.Server
	log     *slog.Logger
}

// groupBalancer sends each request of a group to the process with the fewest requests in
// flight (the first of those after the last one picked). Kept-alive connections belong to one
// process each, so balancing by connection, as the workers' accept would, could leave a
// one-thread process queueing requests while its sibling idles.
type groupBalancer struct {
	name  string
	procs []*groupProcess
	next  atomic.Uint32
	// wait bounds how long a request waits for a process of the group to have a ready
	// worker (none while all crash or are still loading): past it, 503.
	wait time.Duration
	log  *slog.Logger
}

type groupProcess struct {
	inflight atomic.Int64
	slot     *routedSlot // whether a ready worker serves this process's socket
	proxy    *httputil.ReverseProxy
}

// routeWait is how long a request waits for a ready worker of its group when no
// --queue-timeout is set (mod_wsgi's connect-timeout has the same default).
const routeWait = 15 * time.Second

// routePoll is how often a waiting request looks again for a ready worker: waits happen
// only while a group has none (starting, or crashing), so a simple poll is enough.
const routePoll = 20 * time.Millisecond

// routedGroup is what the router knows of a process group: one socket per process, what it
// shares with the supervisor of each, and the group's wait for a ready worker (its
// --queue-timeout, or routeWait).
type routedGroup struct {
	sockets []string
	slots   []*routedSlot
	wait    time.Duration
}

// routedSlot is what the supervisor and the router share of one process (slot) of a routed
// group: whether a ready worker serves its socket (set by the supervisor), and the router's
// connections to it, whose idle ones the supervisor has closed when the worker drains.
type routedSlot struct {
	accepting atomic.Bool
	transport atomic.Pointer[http.Transport]
}

func newGroupBalancer(name string, g routedGroup, log *slog.Logger) *groupBalancer {
	b := &groupBalancer{name: name, wait: g.wait, log: log}
	if b.wait <= 0 {
		b.wait = routeWait
	}
	for i, sock := range g.sockets {
		proxy, transport := processProxy(name, sock, log)
		g.slots[i].transport.Store(transport)
		b.procs = append(b.procs, &groupProcess{slot: g.slots[i], proxy: proxy})
	}
	return b
}

// pick returns the accepting process with the fewest requests in flight, or nil.
func (b *groupBalancer) pick() *groupProcess {
	start := int(b.next.Add(1))
	var best *groupProcess
	for i := range b.procs {
		p := b.procs[(start+i)%len(b.procs)]
		if p.slot.accepting.Load() && (best == nil || p.inflight.Load() < best.inflight.Load()) {
			best = p
		}
	}
	return best
}

func (b *groupBalancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	best := b.pick()
	if best == nil {
		best = b.waitForWorker(r)
		if best == nil {
			if r.Context().Err() == nil {
				b.log.Warn("request refused: no worker of its process group became ready in "+
					"time; answered 503 (the group's workers are starting, or failing to: see "+
					"their log lines above)", "group", b.name, "path", r.URL.Path,
					"waited", b.wait.String())
				w.Header().Set("Retry-After", "1")
				http.Error(w, "503 the application's processes are not ready",
					http.StatusServiceUnavailable)
			}
			return
		}
	}
	best.inflight.Add(1)
	defer best.inflight.Add(-1)
	best.proxy.ServeHTTP(w, r)
}

// waitForWorker waits up to b.wait for a process of the group to accept; nil if none did or
// the client left.
func (b *groupBalancer) waitForWorker(r *http.Request) *groupProcess {
	timeout := time.NewTimer(b.wait)
	defer timeout.Stop()
	tick := time.NewTicker(routePoll)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if p := b.pick(); p != nil {
				return p
			}
		case <-timeout.C:
			return b.pick()
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

// closeIdleSoon closes the router's idle connections to the slot's socket, as its worker
// starts draining: now and twice more, since a connection whose response left the worker just
// before it marked its answers Connection: close goes back to the pool a moment later. A
// draining worker behind the router never closes an idle connection itself
// (httpd.CloseWhenDraining): a
// request the router sent on a connection the worker closed at that instant would be lost,
// and one with a body (a POST) cannot be retried. The router closing its own idle connections
// races with nothing.
func (rs *routedSlot) closeIdleSoon() {
	t := rs.transport.Load()
	if t == nil {
		return
	}
	t.CloseIdleConnections()
	time.AfterFunc(100*time.Millisecond, t.CloseIdleConnections)
	time.AfterFunc(time.Second, t.CloseIdleConnections)
}

// routerIdleTimeout bounds how long a connection to a worker may sit idle in the router's
// pool: also how long a draining worker may wait for the router to let go of one that
// closeIdleSoon missed.
const routerIdleTimeout = 5 * time.Second

// processProxy forwards requests to one process of a group over its Unix socket: kept-alive
// connections, bodies streamed both ways.
func processProxy(name, socket string, log *slog.Logger) (*httputil.ReverseProxy, *http.Transport) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     routerIdleTimeout,
		DisableCompression:  true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "pyhost-group"
			pr.Out.Host = pr.In.Host // the app sees the client's Host (SERVER_NAME)
			pr.Out.Header.Set(httpd.HeaderClient, pr.In.RemoteAddr)
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil { // the client went away
				return
			}
			log.Warn("could not pass a request to its process group's workers", "group", name,
				"path", r.URL.Path, "error", err)
			http.Error(w, "502 the application's processes did not answer", http.StatusBadGateway)
		},
	}, transport
}

// startFrontend serves each listener with a router over the static aliases and the groups'
// balancers. mounts maps a mount prefix to its group's name; groups a group's name to its
// processes.
func startFrontend(lns []net.Listener, mounts map[string]string, groups map[string]routedGroup,
	static []config.StaticAlias, lim request.Limits, log *slog.Logger) (*frontend, error) {
	var statics []httpd.Route
	for _, a := range static {
		sf, err := httpd.NewStaticFiles(a.Prefix, a.Dir)
		if err != nil {
			return nil, err
		}
		statics = append(statics, httpd.Route{Prefix: a.Prefix, Handler: sf})
	}
	f := &frontend{log: log}
	balancers := map[string]*groupBalancer{}
	for name, g := range groups {
		balancers[name] = newGroupBalancer(name, g, log)
	}
	for i, ln := range lns {
		routes := append([]httpd.Route(nil), statics...)
		for prefix, group := range mounts {
			routes = append(routes, httpd.Route{Prefix: prefix,
				Handler: atListener{strconv.Itoa(i), balancers[group]}})
		}
		srv := &http.Server{Handler: httpd.HTTP1Rules(httpd.NewRouter(routes), log),
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ReadHeaderTimeout: lim.HeaderTimeout,
			IdleTimeout:       lim.KeepAliveTimeout,
			ConnState:         httpd.NoteConnState,
		}
		// The same guards as a worker's own listeners: the write timeout, 408 for a stalled
		// head, 414 for an endless request line, and a log line for net/http's refusals.
		gl := httpd.Guard(ln, lim, log, nil)
		f.servers = append(f.servers, srv)
		log.Info("serving", "listen", "http://"+ln.Addr().String(), "routes", len(routes))
		go func() { _ = srv.Serve(gl) }()
	}
	return f, nil
}

// shutdown stops accepting and waits for the requests in flight (up to timeout), so the
// workers drain only once nothing more can reach them.
func (f *frontend) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan struct{}, len(f.servers))
	for _, srv := range f.servers {
		go func(srv *http.Server) {
			if err := srv.Shutdown(ctx); err != nil {
				f.log.Warn("requests still in flight at the shutdown timeout", "error", err)
			}
			done <- struct{}{}
		}(srv)
	}
	for range f.servers {
		<-done
	}
}
