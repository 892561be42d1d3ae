package httpd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pyhost/pyhost/pyhost/httpd/plainhead"
)

// fastConn is one connection on the fast path (fastserver.go).
type fastConn struct {
	fs *FastServer
	c  net.Conn

	mu      sync.Mutex
	waiting bool      // waiting for the first byte of a request, none of it read yet
	since   time.Time // when it was accepted (a connection that never sent a request)
	first   bool      // that request is the connection's first (net/http's StateNew)

	resp fastResponse // the response being written, reused (newFastResponse)
}

// fastHeadBuffer is the most of a request head the fast path reads; a longer head goes to
// net/http, which applies --max-header-bytes to it. It is net/http's own read buffer size.
const fastHeadBuffer = 4096

var (
	fastReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, fastHeadBuffer) }}
	fastWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// closeIfIdle closes the connection if it waits for a request (as net/http's closeIdleConns
// does: a kept-alive connection, or one that has sent nothing for 5 s); it reports whether
// the connection is no longer busy.
func (fc *fastConn) closeIfIdle() bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !fc.waiting || fc.first && time.Since(fc.since) < 5*time.Second {
		return false
	}
	_ = fc.c.Close()
	return true
}

func (fc *fastConn) setWaiting(w bool) {
	fc.mu.Lock()
	fc.waiting = w
	fc.mu.Unlock()
}

// serve reads and answers the connection's requests until it closes, or hands it to net/http
// at the first request that is not plain.
func (fc *fastConn) serve() {
	fs, c := fc.fs, fc.c
	br := fastReaders.Get().(*bufio.Reader)
	bw := fastWriters.Get().(*bufio.Writer)
	br.Reset(c)
	bw.Reset(c)
	handedOff := false
	defer func() {
		// As net/http: a panic anywhere in serving a connection ends that connection, never
		// the process (the handler's own panics are logged by runHandler).
		if p := recover(); p != nil {
			fs.logPanic(c.RemoteAddr(), p)
		}
		br.Reset(nil)
		bw.Reset(nil)
		fastReaders.Put(br)
		fastWriters.Put(bw)
		fs.forget(fc)
		if !handedOff {
			_ = c.Close()
			fs.hook(c, http.StateClosed)
		}
	}()
	ctx := context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, fs.srv),
		http.LocalAddrContextKey, c.LocalAddr())
	rc := &requestContext{Context: ctx, c: c, br: br}
	tmpl := (&http.Request{RemoteAddr: c.RemoteAddr().String()}).WithContext(rc)
	fc.mu.Lock()
	fc.first, fc.waiting, fc.since = true, true, time.Now()
	fc.mu.Unlock()
	afterPOST := false
	for first := true; ; first = false {
		if !first && !fc.awaitRequest(br) {
			return
		}
		headDeadline := fc.startHead(first)
		if afterPOST {
			skipBlankLines(br)
		}
		n, err := peekHead(br)
		if err != nil {
			return
		}
		fc.mu.Lock()
		fc.waiting, fc.first = false, false
		fc.mu.Unlock()
		var req *http.Request
		if n >= 0 && plainhead.Is(peeked(br, n)) {
			req, _ = plainhead.Request(peeked(br, n), tmpl) // nil: a target net/http refuses
		}
		if req == nil {
			handedOff = true
			fc.handOff(br, headDeadline)
			return
		}
		_, _ = br.Discard(n)
		if !fc.serveRequest(rc, req, bw) {
			return
		}
		afterPOST = req.Method == http.MethodPost
		fs.hook(c, http.StateIdle)
	}
}

// awaitRequest waits between requests, as net/http does, for the first bytes of the next one
// under the idle timeout; false if they did not come.
func (fc *fastConn) awaitRequest(br *bufio.Reader) bool {
	fc.setWaiting(true)
	idle := fc.fs.srv.IdleTimeout
	if idle <= 0 {
		idle = fc.fs.srv.ReadTimeout
	}
	var dl time.Time
	if idle > 0 {
		dl = time.Now().Add(idle)
	}
	_ = fc.c.SetReadDeadline(dl)
	// Four bytes, as net/http waits for (no request is shorter): fewer before the client falls
	// silent or closes end the connection without a word from either server.
	_, err := br.Peek(4)
	return err == nil
}

// startHead gives the rest of a request head the head timeout, and returns that one
// deadline for the head, a hand-off included (zero: none).
func (fc *fastConn) startHead(first bool) time.Time {
	if d := fc.fs.srv.ReadHeaderTimeout; d > 0 {
		dl := time.Now().Add(d)
		_ = fc.c.SetReadDeadline(dl)
		return dl
	}
	if !first {
		_ = fc.c.SetReadDeadline(time.Time{})
	}
	return time.Time{}
}

// serveRequest answers one plain request; false if the connection closes after it.
func (fc *fastConn) serveRequest(rc *requestContext, req *http.Request, bw *bufio.Writer) bool {
	fc.fs.hook(fc.c, http.StateActive)
	w := newFastResponse(fc, req, bw)
	rc.beginRequest()
	ok := fc.runHandler(w, req)
	rc.endRequest()
	if !ok {
		_ = bw.Flush() // what was committed, as net/http's final flush on a panic
		return false
	}
	w.finish()
	return bw.Flush() == nil && !w.closeAfter && fc.fs.keepAlive()
}

// skipBlankLines discards the CR and LF bytes among the next four, as net/http does before
// the request that follows a POST: old clients end a POST's body with an extra CRLF (RFC 9112
// §2.2 asks a server to ignore an empty line before a request line). Without it, a connection
// handed over after a bodiless POST served here would make net/http, which never saw that
// POST, answer the stray CRLF with 400.
func skipBlankLines(br *bufio.Reader) {
	peek, _ := br.Peek(4) // an error shows on the next read
	n := 0
	for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
		n++
	}
	_, _ = br.Discard(n)
}

// peeked returns the first n buffered bytes of br without consuming them.
func peeked(br *bufio.Reader, n int) []byte {
	b, _ := br.Peek(n)
	return b
}

// peekHead reads until br holds a whole request head, and returns its length (through the
// blank line), or -1 if the head does not fit in br's buffer. It consumes nothing. A head
// whose lines end in a bare LF ends at its first empty line, as net/http reads it: such a
// head is never plain (plainhead.Is wants CRLF), so it goes to net/http, which serves or
// refuses it, rather than waiting for a CRLF CRLF that never comes. So does a head that starts
// with an empty line (net/http refuses that request line at once, 400).
func peekHead(br *bufio.Reader) (int, error) {
	scanned := 0
	for {
		buf := peeked(br, br.Buffered())
		if n := emptyLineAt0(buf); n > 0 {
			return n, nil
		}
		if i := bytes.Index(buf[max(scanned-3, 0):], crlfcrlf); i >= 0 {
			return max(scanned-3, 0) + i + 4, nil
		}
		// Looked for only when no CRLF CRLF is in sight: a plain head never pays for it.
		if i := bareLFHeadEnd(buf, max(scanned-2, 0)); i >= 0 {
			return i, nil
		}
		scanned = len(buf)
		if scanned >= br.Size() {
			return -1, nil
		}
		if _, err := br.Peek(scanned + 1); err != nil {
			return 0, err
		}
	}
}

var crlfcrlf = []byte("\r\n\r\n")

// emptyLineAt0 is the length of an empty line ("\n" or "\r\n") at the start of buf, else 0.
func emptyLineAt0(buf []byte) int {
	switch {
	case len(buf) > 0 && buf[0] == '\n':
		return 1
	case len(buf) > 1 && buf[0] == '\r' && buf[1] == '\n':
		return 2
	}
	return 0
}

// bareLFHeadEnd returns the length through the first empty line after a bare LF in buf
// ("\n\n" or "\n\r\n"), looking from index from on, or -1 if there is none yet.
func bareLFHeadEnd(buf []byte, from int) int {
	for from < len(buf) {
		i := bytes.IndexByte(buf[from:], '\n')
		if i < 0 {
			return -1
		}
		j := from + i + 1 // just after the LF
		switch {
		case j < len(buf) && buf[j] == '\n':
			return j + 1
		case j+1 < len(buf) && buf[j] == '\r' && buf[j+1] == '\n':
			return j + 2
		}
		from = j
	}
	return -1
}

// runHandler serves one request; false if the handler panicked (the connection is then
// closed, as net/http does, and a panic other than http.ErrAbortHandler logged with its stack).
func (fc *fastConn) runHandler(w *fastResponse, req *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			if p != http.ErrAbortHandler {
				fc.fs.logPanic(req.RemoteAddr, p)
			}
		}
	}()
	fc.fs.srv.Handler.ServeHTTP(w, req)
	return true
}

// handOff gives the connection to net/http, with the bytes read from it so far (the head
// that was not plain) to be read again and the head's deadline (zero: none) still running;
// it closes the connection if net/http is shutting down.
func (fc *fastConn) handOff(br *bufio.Reader, headDeadline time.Time) {
	replay := append([]byte(nil), peeked(br, br.Buffered())...)
	// To the hooks, the fast path's connection ends here and net/http's begins.
	fc.fs.forget(fc)
	fc.fs.hook(fc.c, http.StateClosed)
	if !fc.fs.handoff.give(&handedConn{Conn: fc.c, replay: replay, headDeadline: headDeadline}) {
		_ = fc.c.Close()
	}
}

// handedConn is a connection handed to net/http: its reads start with the bytes the fast
// path had read. It keeps the fast paths net/http looks for on a connection.
type handedConn struct {
	net.Conn
	replay []byte
	// headDeadline is when the head being read must be complete, set when the fast path
	// began reading it; zero once net/http has set its first read deadline.
	headDeadline time.Time
}

// SetReadDeadline keeps one deadline for the head that was handed over: net/http's first
// deadline on a connection is its header timeout counted from now, which would give a client
// that trickles its head up to twice --header-timeout. Later deadlines are net/http's own.
// net/http sets that first one on the connection's goroutine before it starts any other.
func (h *handedConn) SetReadDeadline(t time.Time) error {
	if !h.headDeadline.IsZero() {
		if t.IsZero() || t.After(h.headDeadline) {
			t = h.headDeadline
		}
		h.headDeadline = time.Time{}
	}
	return h.Conn.SetReadDeadline(t)
}

func (h *handedConn) Read(p []byte) (int, error) {
	if len(h.replay) == 0 {
		return h.Conn.Read(p)
	}
	n := copy(p, h.replay)
	h.replay = h.replay[n:]
	if g, ok := h.Conn.(*guardedConn); ok {
		g.noteHeadBytes(p[:n])
	}
	return n, nil
}

func (h *handedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := h.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{h.Conn}, r)
}

func (h *handedConn) CloseWrite() error {
	if cw, ok := h.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
