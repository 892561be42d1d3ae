package httpd

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"github.com/pyhost/pyhost/wsgi/request"
)

// A worker of one of several process groups sits behind the supervisor's front end: its one
// listener is a Unix socket that only the supervisor connects to (it binds it in a folder of
// its own and hands it down like the TCP ones), so the worker trusts the two header fields
// below on it, and on it only, to learn the real client and the public listener.
const (
	// HeaderClient carries the client's address (host:port) as the supervisor saw it.
	HeaderClient = "Pyhost-Forwarded-Client"
	// HeaderListener carries the index of the public listener (in --listen order).
	HeaderListener = "Pyhost-Forwarded-Listener"
	// HeaderScheme carries the scheme the client used, "http" or "https": the front's own
	// listeners are plain HTTP, but a trusted proxy in front of it may say https
	// (ProxyHeaders, which the front runs; the worker does not resolve again).
	HeaderScheme = "Pyhost-Forwarded-Proto"
)

// Forwarded serves a routed worker's Unix socket: it restores the client's address and the
// public listener the supervisor names in HeaderClient and HeaderListener, then routes as
// that listener would. A request that names no listener (it did not come through the
// supervisor) gets 400.
type Forwarded struct {
	routers   []*Router
	listeners []net.Addr // nil where the public address is not host:port
}

// NewForwarded serves the public listeners at addrs (host:port, in --listen order) through
// routers, one per listener in the same order.
func NewForwarded(routers []*Router, addrs []string) *Forwarded {
	f := &Forwarded{routers: routers, listeners: make([]net.Addr, len(addrs))}
	for i, a := range addrs {
		if tcp, err := net.ResolveTCPAddr("tcp", a); err == nil {
			f.listeners[i] = tcp
		}
	}
	return f
}

func (f *Forwarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.Header.Get(HeaderListener))
	if err != nil || i < 0 || i >= len(f.routers) {
		http.Error(w, "400 request did not come through pyhost's supervisor", http.StatusBadRequest)
		return
	}
	if client := r.Header.Get(HeaderClient); client != "" {
		r.RemoteAddr = client
	}
	https := r.Header.Get(HeaderScheme) == "https"
	r.Header.Del(HeaderClient)
	r.Header.Del(HeaderListener)
	r.Header.Del(HeaderScheme)
	ctx := r.Context()
	if i < len(f.listeners) && f.listeners[i] != nil {
		ctx = context.WithValue(ctx, http.LocalAddrContextKey, f.listeners[i])
	}
	if https {
		ctx = request.WithScheme(ctx, "https")
	}
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	f.routers[i].ServeHTTP(w, r)
}
