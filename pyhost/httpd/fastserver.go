package httpd

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// FastServer serves HTTP/1 connections itself while their requests are plain — a method, a
// path, well-formed header fields, no body — and hands a connection over to net/http, for the
// rest of its life, at the first request that is anything else (a body, Expect, Upgrade,
// Transfer-Encoding, a head too large for its buffer, anything malformed). net/http then
// reads that request from its first byte, so every request with a body and every refusal
// gets net/http's behaviour exactly; the fast path only ever answers what it is sure of.
//
// Why: net/http spends about a third of a hello-world request's server CPU on what a WSGI
// host does not need from it — a goroutine started per request to watch the connection, a
// cancellable context, its response machinery — and with one Go processor per worker its
// per-request goroutine hand-offs let a busy worker starve its other connections (a p99 in
// the tens of ms). The fast path reads a request, calls the same handler, and writes the
// answer on one goroutine (scripts/bench/per-core-efficiency.md, item 9).
//
// What it does not do that net/http does: watch every request's connection (only a request
// that waits on its context's Done does: fastctx.go), and send trailers (no WSGI app can).
//
// It stands where an *http.Server would: Serve, Shutdown and SetKeepAlivesEnabled behave as
// net/http's do, for both the connections it serves and those it handed over.
type FastServer struct {
	srv     *http.Server // the fallback, and the settings: handler, hooks, timeouts, logger
	handoff *handoffListener

	keepAlivesOff atomic.Bool
	shutting      atomic.Bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*fastConn]struct{}
	fallback  sync.Once
}

// NewFastServer puts the fast path in front of srv, which keeps serving what the fast path
// hands over and lends it its settings: Handler, ConnState, ErrorLog, ReadHeaderTimeout,
// IdleTimeout, ReadTimeout (MaxHeaderBytes is net/http's alone: a head over the fast path's
// buffer goes to it). addr is the listener's address, for net/http's Addr.
func NewFastServer(srv *http.Server, addr net.Addr) *FastServer {
	return &FastServer{srv: srv, handoff: newHandoffListener(addr),
		listeners: map[net.Listener]struct{}{}, conns: map[*fastConn]struct{}{}}
}

// Serve accepts on ln until it is closed, as http.Server.Serve does (it returns
// http.ErrServerClosed after Shutdown).
func (fs *FastServer) Serve(ln net.Listener) error {
	fs.fallback.Do(func() {
		go func() { _ = fs.srv.Serve(fs.handoff) }()
	})
	fs.mu.Lock()
	if fs.shutting.Load() {
		fs.mu.Unlock()
		return http.ErrServerClosed
	}
	fs.listeners[ln] = struct{}{}
	fs.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if fs.shutting.Load() {
				return http.ErrServerClosed
			}
			if acceptRetryable(err) {
				// Out of descriptors, say: wait and try again, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				fs.logf("http: Accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		fc := &fastConn{fs: fs, c: c}
		fs.hook(c, http.StateNew)
		fs.mu.Lock()
		fs.conns[fc] = struct{}{}
		fs.mu.Unlock()
		go fc.serve()
	}
}

// logf logs as net/http does: to the server's ErrorLog, or the standard logger without one.
func (fs *FastServer) logf(format string, args ...any) {
	if fs.srv.ErrorLog != nil {
		fs.srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// logPanic logs a panic in serving remote's connection with its stack, as net/http does.
func (fs *FastServer) logPanic(remote any, p any) {
	buf := make([]byte, 64<<10)
	buf = buf[:runtime.Stack(buf, false)]
	fs.logf("http: panic serving %v: %v\n%s", remote, p, buf)
}

func (fs *FastServer) hook(c net.Conn, st http.ConnState) {
	if fs.srv.ConnState != nil {
		fs.srv.ConnState(c, st)
	}
}

// SetKeepAlivesEnabled(false) closes idle connections and makes busy ones close after their
// response, on both paths.
func (fs *FastServer) SetKeepAlivesEnabled(on bool) {
	fs.keepAlivesOff.Store(!on)
	fs.srv.SetKeepAlivesEnabled(on)
	if !on {
		fs.closeIdle()
	}
}

func (fs *FastServer) closeIdle() (busy int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for fc := range fs.conns {
		if !fc.closeIfIdle() {
			busy++
		}
	}
	return busy
}

// Shutdown stops accepting, closes idle connections, and waits for the busy ones to finish
// their request (then they close) or for ctx to end, as http.Server.Shutdown does; the
// connections handed to net/http are its Shutdown's.
func (fs *FastServer) Shutdown(ctx context.Context) error {
	fs.mu.Lock()
	fs.shutting.Store(true)
	var err error
	for ln := range fs.listeners {
		if cerr := ln.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	fs.mu.Unlock()
	fbErr := make(chan error, 1)
	go func() { fbErr <- fs.srv.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for fs.closeIdle() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	if e := <-fbErr; e != nil && !errors.Is(e, net.ErrClosed) {
		return e
	}
	return err
}

func (fs *FastServer) forget(fc *fastConn) {
	fs.mu.Lock()
	delete(fs.conns, fc)
	fs.mu.Unlock()
}

// keepAlive reports whether a connection may wait for another request after this one.
func (fs *FastServer) keepAlive() bool { return !fs.keepAlivesOff.Load() && !fs.shutting.Load() }

// handoffListener is the listener net/http serves: it yields the connections the fast path
// hands over, each replaying the bytes already read from it.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// give hands c to net/http; false if it is shutting down (the caller closes c).
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// acceptRetryable: an accept error that passes (out of descriptors, a connection reset before
// it was accepted), after which net/http's Serve goes on accepting too.
func acceptRetryable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) ||
		errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}
