package config

import (
	"flag"

	"github.com/pyhost/pyhost/wsgi/request"
)

// limitFlags defines serve's limit flags on l, starting from request.DefaultLimits(). The README
// ("Limits and protections") explains each default.
func limitFlags(fs *flag.FlagSet, l *request.Limits) {
	*l = request.DefaultLimits()
	fs.Var(intSize{&l.MaxHeaderBytes}, "max-header-bytes", "largest request head (request "+
		"line and header fields) in bytes; larger gets 431 (0: net/http's 1M)")
	fs.IntVar(&l.MaxHeaderFields, "max-header-fields", l.MaxHeaderFields,
		"most request header fields; more gets 431 (0: no limit)")
	fs.Var(intSize{&l.MaxRequestLine}, "max-request-line", "longest request line in bytes; "+
		"longer gets 414 (0: no limit but --max-header-bytes)")
	fs.Var(byteSize{&l.MaxBodyBytes}, "max-body-size", "largest request body; larger gets "+
		"413, refused before reading when Content-Length says so (0: no limit)")
	fs.Var(byteSize{&l.BodyMemory}, "body-memory", "request bodies up to this size are "+
		"buffered in memory, larger ones in a temporary file")
	fs.StringVar(&l.BodyTempDir, "body-temp-dir", "", "directory for request bodies over "+
		"--body-memory and streamed responses over --stream-buffer-memory (default $TMPDIR "+
		"or /tmp)")
	fs.BoolVar(&l.StreamBody, "stream-request-body", false, "let the app read the request "+
		"body as it arrives instead of buffering it first (a slow upload then holds a "+
		"request thread)")
	fs.Var(byteSize{&l.StreamBuffer}, "stream-buffer", "most bytes of a streamed response "+
		"(generator, write(), file_wrapper) held for a client that reads slower than the app "+
		"writes; the app moves on while the client reads, and waits once this is full "+
		"(0: no buffer: a slow reader holds a request thread)")
	fs.Var(byteSize{&l.StreamBufferMemory}, "stream-buffer-memory", "how much of "+
		"--stream-buffer a response keeps in memory; the rest goes to a temporary file")
	fs.DurationVar(&l.HeaderTimeout, "header-timeout", l.HeaderTimeout, "time a client has "+
		"to send its whole request head; then 408 and close (0: none)")
	fs.DurationVar(&l.BodyIdleTimeout, "body-timeout", l.BodyIdleTimeout, "longest wait for "+
		"the next byte of a request body; then 408 and close (0: none)")
	fs.DurationVar(&l.KeepAliveTimeout, "keepalive-timeout", l.KeepAliveTimeout, "how long "+
		"an idle keep-alive connection stays open (0: none)")
	fs.DurationVar(&l.WriteTimeout, "write-timeout", l.WriteTimeout, "longest wait for the "+
		"client to accept the next response byte; then the connection is closed (0: none)")
	fs.DurationVar(&l.RequestTimeout, "request-timeout", 0, "longest time a request may "+
		"run Python; then 504 (if its response has not started), its Python stack logged and "+
		"pyhost.RequestTimeout raised in it (0: none)")
	fs.DurationVar(&l.InterruptTimeout, "interrupt-timeout", l.InterruptTimeout, "how long "+
		"a timed-out request may take to unwind before pyhost reports that the worker must be "+
		"recycled (0: never)")
	fs.DurationVar(&l.QueueTimeout, "queue-timeout", 0, "longest wait for a free request "+
		"thread; then 503 (0: none)")
}
