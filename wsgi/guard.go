package wsgi

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// checkHead refuses a request whose line or header fields pass the limits, before any of it
// reaches the app. net/http already bounds the whole head (its MaxHeaderBytes, which answers
// 431 by itself); this is the precise check, with the status each limit owes: 414 for the
// request line, 431 for the header fields.
func (h *Handler) checkHead(w http.ResponseWriter, r *http.Request) bool {
	lim := &h.Limits
	line := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 2
	if lim.MaxRequestLine > 0 && line > lim.MaxRequestLine {
		h.refuse(w, r, http.StatusRequestURITooLong, "request line too long; raise "+
			"--max-request-line if the app needs such URLs", "bytes", line,
			"limit", lim.MaxRequestLine)
		return false
	}
	fields, size := 0, line+2
	if r.Host != "" {
		fields, size = 1, size+len("Host: \r\n")+len(r.Host)
	}
	for name, values := range r.Header {
		fields += len(values)
		for _, v := range values {
			size += len(name) + len(v) + 4
		}
	}
	// net/http takes Transfer-Encoding (and a Content-Length beside it) out of r.Header.
	fields += len(r.TransferEncoding)
	if lim.MaxHeaderFields > 0 && fields > lim.MaxHeaderFields {
		h.refuse(w, r, http.StatusRequestHeaderFieldsTooLarge, "too many request header "+
			"fields; raise --max-header-fields if clients legitimately send more",
			"fields", fields, "limit", lim.MaxHeaderFields)
		return false
	}
	if lim.MaxHeaderBytes > 0 && size > lim.MaxHeaderBytes {
		h.refuse(w, r, http.StatusRequestHeaderFieldsTooLarge, "request head too large; "+
			"raise --max-header-bytes if clients legitimately send more", "bytes", size,
			"limit", lim.MaxHeaderBytes)
		return false
	}
	return true
}

// refuse answers a request the limits turn away, closes its connection (its body, if any, is
// left unread) and logs why.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, why string, attrs ...any) {
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	h.Log.Warn("request refused: "+why, append([]any{"status", status, "remote", r.RemoteAddr,
		"method", r.Method, "path", path}, attrs...)...)
	dropConnection(w)
	http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
}

// dropConnection closes the connection after this response without reading what is left of
// the request: net/http would otherwise try to read up to 256 KiB of an unread body first, a
// wait with no deadline on a client that stalled.
func dropConnection(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

var bodyPool = sync.Pool{New: func() any { return new(bodyBuffer) }}

func putBody(b *bodyBuffer) {
	b.release()
	bodyPool.Put(b)
}

// readBody reads the whole request body into a buffer before the request asks for a request
// thread, so a slow upload holds only this goroutine. It answers 413 (over the body limit:
// refused before reading when Content-Length says so), 408 (no byte for the body idle
// timeout) or 400 (a malformed chunked body), and returns ok=false then. With StreamBody it
// only checks the declared length and leaves the body to the app (nil buffer).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*bodyBuffer, bool) {
	lim := &h.Limits
	if lim.MaxBodyBytes > 0 && r.ContentLength > lim.MaxBodyBytes {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "request body over the limit "+
			"(Content-Length); raise --max-body-size if the app takes such uploads",
			"content_length", r.ContentLength, "limit", lim.MaxBodyBytes)
		return nil, false
	}
	if lim.StreamBody {
		return nil, true
	}
	b := bodyPool.Get().(*bodyBuffer)
	src := idleReader{r: r.Body, rc: http.NewResponseController(w), idle: lim.BodyIdleTimeout}
	err := b.fill(src, r.ContentLength, lim.BodyMemory, lim.MaxBodyBytes, lim.BodyTempDir)
	if err == nil {
		src.done()
		return b, true
	}
	putBody(b)
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "request body over the limit; raise "+
			"--max-body-size if the app takes such uploads", "limit", lim.MaxBodyBytes)
	case errors.Is(err, os.ErrDeadlineExceeded):
		h.refuse(w, r, http.StatusRequestTimeout, "the client sent no body byte within "+
			"--body-timeout", "timeout", lim.BodyIdleTimeout.String())
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET):
		h.Log.Info("client disconnected mid-request, while sending its body (the app never "+
			"saw the request)", "remote",
			r.RemoteAddr, "path", r.URL.Path)
		dropConnection(w)
	case errors.Is(err, errSpool):
		h.Log.Error("could not buffer a request body", "path", r.URL.Path, "error", err)
		dropConnection(w)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	default:
		h.refuse(w, r, http.StatusBadRequest, "malformed request body", "error", err)
	}
	return nil, false
}

// idleReader reads a request body with a deadline that moves with every read: a slow but
// steady upload is fine, a stalled one ends after idle.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (ir idleReader) Read(p []byte) (int, error) {
	if ir.idle > 0 {
		_ = ir.rc.SetReadDeadline(time.Now().Add(ir.idle))
	}
	return ir.r.Read(p)
}

// done clears the deadline: net/http's own read after the body, which notices a client that
// goes away while the app runs, must not time out.
func (ir idleReader) done() {
	if ir.idle > 0 {
		_ = ir.rc.SetReadDeadline(time.Time{})
	}
}

// response is a Respond outcome's head and body, copied out of the request thread's scratch.
type response struct {
	buf        *[]byte // pooled storage, or nil
	head, body []byte
}

const pooledResponseCap = 16 << 10

var responsePool = sync.Pool{New: func() any { b := make([]byte, 0, pooledResponseCap); return &b }}

func takeResponse(head, body []byte) response {
	n := len(head) + len(body)
	var bp *[]byte
	var b []byte
	if n <= pooledResponseCap {
		bp = responsePool.Get().(*[]byte)
		b = (*bp)[:0]
	} else {
		b = make([]byte, 0, n)
	}
	b = append(append(b, head...), body...)
	return response{buf: bp, head: b[:len(head)], body: b[len(head):]}
}

func (r response) free() {
	if r.buf != nil {
		responsePool.Put(r.buf)
	}
}

// writeResponse sends a buffered response; the connection's write timeout bounds it.
func (h *Handler) writeResponse(w http.ResponseWriter, r *http.Request, resp response) {
	writeHead(w, resp.head, int64(len(resp.body)))
	if len(resp.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}
