package httpd

import (
	"log/slog"
	"net/http"
)

// HTTP1Rules wraps a listener's handler (on both --http-server modes) in the answers to the
// requests that HTTP/1 framing leaves a WSGI host no right way to serve, given before any
// route or app sees them, and closes the connections that must not be reused.
func HTTP1Rules(next http.Handler, log *slog.Logger) http.Handler {
	return http1Rules{next: next, log: log}
}

type http1Rules struct {
	next http.Handler
	log  *slog.Logger
}

func (h http1Rules) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		h.refuseTunnel(w, r)
		return
	}
	if r.ProtoMinor == 0 && !r.Close && !onFastPath(r) {
		// RFC 9112 §6.1: after an HTTP/1.0 request that carries Transfer-Encoding the
		// connection MUST be closed, since a proxy in front may have framed its body by that
		// field while this server does not (what it sent as a chunked body would be read here
		// as a second request). net/http ignores the field on HTTP/1.0 and deletes it before
		// any handler runs, so which of its HTTP/1.0 requests carried one cannot be told: none
		// keeps its connection. The fast path parses its heads itself and answers only those
		// without the field, so HTTP/1.0 keep-alive there is unaffected.
		w.Header().Set("Connection", "close")
	}
	h.next.ServeHTTP(w, r)
}

// refuseTunnel answers CONNECT, which asks the server to become a tunnel: a WSGI app can only
// answer it in HTTP (a 2xx would tell the client the tunnel is open while the connection goes
// on speaking HTTP), so it is never passed on. 501 rather than 405: no resource here supports
// the method (RFC 9110 §15.6.2), and 405 would need an Allow list per resource. The
// connection is closed, as the client may already be sending the tunnel's bytes.
func (h http1Rules) refuseTunnel(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("request refused: CONNECT asks for a tunnel, which a WSGI application cannot "+
		"serve over HTTP/1; answered 501 (a client configured to use this server as a proxy "+
		"should use a forward proxy instead)", "status", http.StatusNotImplemented,
		"target", r.RequestURI, "remote", r.RemoteAddr)
	w.Header().Set("Connection", "close")
	http.Error(w, "501 Not Implemented: CONNECT is not served here", http.StatusNotImplemented)
}

// onFastPath reports whether the fast path read r's head (fastconn.go) rather than net/http,
// also when a handler in front gave r a context of its own on top (ProxyHeaders does).
func onFastPath(r *http.Request) bool {
	_, ok := r.Context().Value(fastPathKey{}).(*requestContext)
	return ok
}
