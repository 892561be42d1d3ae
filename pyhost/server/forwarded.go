package server

import (
	"fmt"
	"net"

	"github.com/pyhost/pyhost/pyhost/httpd"
	"github.com/pyhost/pyhost/wsgi"
)

// A worker of one of several process groups sits behind the supervisor's router, which
// names the client and the public listener in header fields (httpd.Forwarded).

// listenRouted sets a routed worker up: its inherited Unix socket, and the apps' handlers
// once per public listener, as if it accepted there (SERVER_PORT, %{SERVER} groups).
func (s *Server) listenRouted(inherited []net.Listener) error {
	if len(inherited) != 1 {
		return fmt.Errorf("pyhost worker: want the supervisor's one Unix socket, got %d listeners",
			len(inherited))
	}
	s.listeners = inherited
	for _, addr := range s.frontAddrs {
		var hs []*wsgi.Handler
		for _, m := range s.mounts {
			hs = append(hs, s.newHandler(m, addr))
		}
		s.handlers = append(s.handlers, hs)
		s.routed = append(s.routed, httpd.NewRouter(s.routes(hs)))
	}
	return nil
}

// routes is the router's table: the apps of one listener and the static aliases.
func (s *Server) routes(hs []*wsgi.Handler) []httpd.Route {
	rs := append([]httpd.Route(nil), s.static...)
	for _, h := range hs {
		rs = append(rs, httpd.Route{Prefix: h.ScriptName, Handler: h})
	}
	return rs
}
