package pyhost

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync/atomic"
	"time"
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
	procs []*groupProcess
	next  atomic.Uint32
}

type groupProcess struct {
	inflight atomic.Int64
	proxy    *httputil.ReverseProxy
}

func newGroupBalancer(name string, sockets []string, log *slog.Logger) *groupBalancer {
	b := &groupBalancer{}
	for _, sock := range sockets {
		b.procs = append(b.procs, &groupProcess{proxy: processProxy(name, sock, log)})
	}
	return b
}

func (b *groupBalancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := int(b.next.Add(1))
	best := b.procs[start%len(b.procs)]
	for i := 1; i < len(b.procs); i++ {
		if p := b.procs[(start+i)%len(b.procs)]; p.inflight.Load() < best.inflight.Load() {
			best = p
		}
	}
	best.inflight.Add(1)
	defer best.inflight.Add(-1)
	best.proxy.ServeHTTP(w, r)
}

// atListener marks a request with the public listener it came in on, for the worker.
type atListener struct {
	index string
	next  http.Handler
}

func (a atListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header.Set(headerListener, a.index)
	a.next.ServeHTTP(w, r)
}

// processProxy forwards requests to one process of a group over its Unix socket: kept-alive
// connections, bodies streamed both ways.
func processProxy(name, socket string, log *slog.Logger) *httputil.ReverseProxy {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "pyhost-group"
			pr.Out.Host = pr.In.Host // the app sees the client's Host (SERVER_NAME)
			pr.Out.Header.Set(headerClient, pr.In.RemoteAddr)
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
	}
}

// startFrontend serves each listener with a router over the static aliases and the groups'
// balancers. mounts maps a mount prefix to its group's name; sockets a group's name to its
// processes' sockets.
func startFrontend(lns []net.Listener, mounts map[string]string, sockets map[string][]string,
	static []StaticAlias, cfg Config, log *slog.Logger) (*frontend, error) {
	var statics []route
	for _, a := range static {
		sf, err := newStaticFiles(a)
		if err != nil {
			return nil, err
		}
		statics = append(statics, route{a.Prefix, sf})
	}
	f := &frontend{log: log}
	lim := cfg.Limits
	balancers := map[string]*groupBalancer{}
	for name, socks := range sockets {
		balancers[name] = newGroupBalancer(name, socks, log)
	}
	for i, ln := range lns {
		routes := append([]route(nil), statics...)
		for prefix, group := range mounts {
			routes = append(routes, route{prefix, atListener{strconv.Itoa(i), balancers[group]}})
		}
		srv := &http.Server{Handler: newRouter(routes),
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			MaxHeaderBytes:    lim.MaxHeaderBytes,
			ReadHeaderTimeout: lim.HeaderTimeout,
			IdleTimeout:       lim.KeepAliveTimeout,
		}
		f.servers = append(f.servers, srv)
		log.Info("serving", "listen", "http://"+ln.Addr().String(), "routes", len(routes))
		go func(ln net.Listener) { _ = srv.Serve(ln) }(ln)
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
