// Package request holds the plain, cgo-free types that describe one request on its way
// through pyhost: the limits it runs under and the record of how it went. The HTTP server,
// the configuration and the WSGI handler all speak them without linking Python.
package request

import (
	"time"
)

// Limits bound what one request may cost before and while it runs. The server (pyhost)
// enforces the connection-level ones (header bytes beyond the precise check, header timeout,
// keep-alive); the handler enforces the rest, each answered with its status and a log line.
type Limits struct {
	MaxHeaderBytes  int   // request line + header fields, in bytes → 431
	MaxHeaderFields int   // header field lines (Host included) → 431
	MaxRequestLine  int   // method, target and version → 414
	MaxBodyBytes    int64 // request body → 413 (0: no limit)
	// BodyMemory is how much of a request body is held in memory; a larger body is spooled
	// to an unlinked temporary file in BodyTempDir ("" = os.TempDir()).
	BodyMemory  int64
	BodyTempDir string
	// StreamBody hands wsgi.input the connection itself instead of a buffer: the app may read
	// the body as it arrives, but holds a request thread while the client sends it.
	StreamBody bool
	// StreamBuffer bounds what a streamed response (a generator, write(), file_wrapper) may
	// hold between the app and a client that reads slower than the app writes: the app's
	// writes return at once until it is full, then wait for the client (0: no buffer, the
	// app's writes wait for the client's socket and hold the request thread until the
	// response is written). Up to StreamBufferMemory of it is kept in memory, the rest in an
	// unlinked temporary file in BodyTempDir.
	StreamBuffer       int64
	StreamBufferMemory int64

	HeaderTimeout    time.Duration // whole request head (server-level)
	BodyIdleTimeout  time.Duration // no body byte for this long → 408
	KeepAliveTimeout time.Duration // idle connection between requests (server-level)
	WriteTimeout     time.Duration // no response byte accepted by the client for this long

	// RequestTimeout bounds one request's time in Python, from when it has a request thread
	// (0: none). At the deadline the request gets 504 (unless its response started), its
	// thread's Python stack is logged and pyhost.RequestTimeout is raised in it.
	RequestTimeout time.Duration
	// InterruptTimeout is how long a timed-out request may take to unwind before the process
	// is reported as needing a recycle (0: never reported).
	InterruptTimeout time.Duration
	// QueueTimeout bounds the wait for a free request thread: past it, 503 (0: none).
	QueueTimeout time.Duration
}

// DefaultLimits are what a production proxy in front of an app server would choose; the
// README's "Limits and protections" section gives the reasoning for each.
func DefaultLimits() Limits {
	return Limits{
		MaxHeaderBytes:     32 << 10,
		MaxHeaderFields:    100,
		MaxRequestLine:     8190,
		MaxBodyBytes:       100 << 20,
		BodyMemory:         1 << 20,
		StreamBuffer:       16 << 20,
		StreamBufferMemory: 1 << 20,
		HeaderTimeout:      30 * time.Second,
		BodyIdleTimeout:    60 * time.Second,
		KeepAliveTimeout:   75 * time.Second,
		WriteTimeout:       60 * time.Second,
		InterruptTimeout:   30 * time.Second,
	}
}
