// Package httpd serves HTTP/1 for pyhost: the listener guards and limits, the fast path in
// front of net/http, the hand-off to net/http, the rules HTTP/1 framing imposes on a WSGI
// host, routing by URL prefix, static files, and the header fields a routed worker trusts. It
// neither links Python nor reads the configuration: it is given request.Limits and handlers,
// and builds and fuzzes with CGO_ENABLED=0.
//
// The path of a request, from the socket to the handler and back:
//
//  1. Guard wraps each listener. Its connections keep the write timeout (no byte accepted by
//     the client for --write-timeout), answer 408 to a head that stalls past
//     --header-timeout, and log the requests net/http refuses by itself. The server on it
//     passes its connection states on with NoteConnState; a ConnTracker may follow them too
//     (how many are open, which have not sent a request yet) for a worker's accept and the
//     drain of kept-alive connections (DrainKeptAlive, a server's and the supervisor's
//     front's alike).
//  2. A FastServer (--http-server fast, the default) accepts the connection and reads each
//     head itself. A plain head (package plainhead: a method, a path, clean fields, no body)
//     is served on the connection's own goroutine with a response writer that frames as
//     net/http would (fastconn.go, fastwriter.go, fastctx.go). At the first head that is not
//     plain, the connection is handed, bytes already read included, to the *http.Server the
//     FastServer was made with, which serves it for the rest of its life. With
//     --http-server stdlib, or behind the supervisor, that *http.Server serves the guarded
//     listener directly.
//  3. Either way the handler is the same: HTTP1Rules (CONNECT refused; an HTTP/1.0 request
//     that net/http read closes its connection), then a Router that picks the Route at the
//     longest prefix of the path: a WSGI application (package wsgi, given by the caller), a
//     StaticFiles folder, or, in the supervisor's front end, a process group's workers. In a
//     worker behind that front end, CloseWhenDraining and Forwarded stand between the two
//     (Forwarded restores the client's address and the public listener from HeaderClient
//     and HeaderListener, then uses that listener's Router).
//     With --trusted-proxy, ProxyHeaders stands in front of it all (and of the caller's
//     observers): from a trusted peer it rewrites the client's address and Host and marks
//     the scheme (request.WithScheme) from Forwarded or X-Forwarded-*; in the supervisor's
//     front it does so once, and the front passes the scheme on in HeaderScheme.
//  4. The response goes back through the same writer: the fast path's, or net/http's, onto
//     the guarded connection.
//
// Not here: the WSGI bridge and request threads (package wsgi), loading applications and
// the order of a server's shutdown (the root package's Server), the supervisor's proxy to
// its process groups, metrics and the access log (the caller wraps them around HTTP1Rules).
package httpd
