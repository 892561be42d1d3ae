package pyhost

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/pyhost/pyhost/wsgi"
)

// A worker of one of several process groups sits behind the supervisor's router: its one
// listener is a Unix socket that only the supervisor connects to (it binds it in a folder of
// its own and hands it down like the TCP ones), so the worker trusts the two headers below
// on it, and on it only, to learn the real client and the public listener.
const (
	// headerClient carries the client's address (host:port) as the supervisor saw it.
	headerClient = "Pyhost-Forwarded-Client"
	// headerListener carries the index of the public listener (in --listen order).
	headerListener = "Pyhost-Forwarded-Listener"
)

// listenRouted sets a routed worker up: its inherited Unix socket, and the apps' handlers
// once per public listener, as if it accepted there (SERVER_PORT, %{SERVER} groups).
func (s *Server) listenRouted(inherited []net.Listener) error {
	if len(inherited) != 1 {
		return fmt.Errorf("pyhost worker: want the supervisor's one Unix socket, got %d listeners",
			len(inherited))
	}
	s.listeners = inherited
	for _, addr := range s.cfg.Routed {
		var hs []*wsgi.Handler
		for _, m := range s.mounts {
			hs = append(hs, s.newHandler(m, addr))
		}
		s.handlers = append(s.handlers, hs)
		s.routed = append(s.routed, newRouter(s.routes(hs)))
	}
	return nil
}

// routes is the router's table: the apps of one listener and the static aliases.
func (s *Server) routes(hs []*wsgi.Handler) []route {
	rs := append([]route(nil), s.static...)
	for _, h := range hs {
		rs = append(rs, route{h.ScriptName, h})
	}
	return rs
}

func routedAddrs(addrs []string) []net.Addr {
	out := make([]net.Addr, len(addrs))
	for i, a := range addrs {
		if tcp, err := net.ResolveTCPAddr("tcp", a); err == nil {
			out[i] = tcp
		}
	}
	return out
}

// forwarded serves a routed worker's Unix socket: it restores the client's address and the
// public listener the supervisor names, then routes as that listener would.
type forwarded struct {
	routers   []*router
	listeners []net.Addr
}

func (f *forwarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.Header.Get(headerListener))
	if err != nil || i < 0 || i >= len(f.routers) {
		http.Error(w, "400 request did not come through pyhost's supervisor", http.StatusBadRequest)
		return
	}
	if client := r.Header.Get(headerClient); client != "" {
		r.RemoteAddr = client
	}
	r.Header.Del(headerClient)
	r.Header.Del(headerListener)
	if addr := f.listeners[i]; addr != nil {
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
	f.routers[i].ServeHTTP(w, r)
}
