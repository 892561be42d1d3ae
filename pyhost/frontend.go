package pyhost

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
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

// groupProxy forwards requests to the workers of one group over their Unix socket: kept-alive
// connections, bodies streamed both ways.
func groupProxy(name, socket string, listener int, log *slog.Logger) http.Handler {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}
	index := strconv.Itoa(listener)
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "pyhost-group"
			pr.Out.Host = pr.In.Host // the app sees the client's Host (SERVER_NAME)
			pr.Out.Header.Set(headerClient, pr.In.RemoteAddr)
			pr.Out.Header.Set(headerListener, index)
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
// proxies. mounts maps a mount prefix to its group's name; sockets a group's name to its
// workers' socket.
func startFrontend(lns []net.Listener, mounts map[string]string, sockets map[string]string,
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
	for i, ln := range lns {
		proxies := map[string]http.Handler{}
		for name, sock := range sockets {
			proxies[name] = groupProxy(name, sock, i, log)
		}
		routes := append([]route(nil), statics...)
		for prefix, group := range mounts {
			routes = append(routes, route{prefix, proxies[group]})
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
