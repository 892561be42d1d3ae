package pyhost

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/pyhost/plainhead"
)

// fastResponse is the fast path's http.ResponseWriter. It frames responses as net/http does:
// a body that ends within the first fastBeforeChunking bytes gets a Content-Length, a longer
// one of unknown length is chunked (closed after, for HTTP/1.0), the header map is fixed when
// the status is written, Date is added, a missing Content-Type is sniffed, a body shorter
// than its Content-Length closes the connection, and a longer one is refused.
type fastResponse struct {
	fc  *fastConn
	req *http.Request
	bw  *bufio.Writer

	header       http.Header
	status       int
	wroteHeader  bool   // the status is chosen and the header map formatted into head
	head         []byte // the status line and the handler's fields, formatted at WriteHeader
	hasDate      bool
	hasType      bool
	hasConnClose bool
	committed    bool   // head written to bw, framing decided
	pending      []byte // body bytes before the head is committed
	declared     int64  // the handler's Content-Length, -1 if none
	written      int64  // body bytes the handler wrote
	chunked      bool
	closeAfter   bool
}

// fastBeforeChunking is how much body is held back to learn whether it ends soon (net/http's
// bufferBeforeChunkingSize).
const fastBeforeChunking = 2048

// newFastResponse readies the connection's response for req. The response, its header map
// and its head buffer are the connection's, reused request after request: nothing holds on
// to a ResponseWriter after its handler returned (wsgi's request timeout waits for its own
// timer before it returns).
func newFastResponse(fc *fastConn, req *http.Request, bw *bufio.Writer) *fastResponse {
	w := &fc.resp
	header, head, pending := w.header, w.head, w.pending
	if header == nil {
		header = make(http.Header, 8)
	}
	clear(header)
	*w = fastResponse{fc: fc, req: req, bw: bw, header: header, head: head[:0],
		pending: pending[:0], declared: -1}
	return w
}

func (w *fastResponse) Header() http.Header { return w.header }

func (w *fastResponse) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64); err == nil && v >= 0 {
			w.declared = v
		} else {
			w.fc.fs.logf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
	w.head = appendStatusLine(w.head[:0], code)
	w.head = w.appendFields(w.head)
}

func (w *fastResponse) writeInformational(code int) {
	b := appendStatusLine(nil, code)
	b = w.appendFields(b)
	b = append(b, "\r\n"...)
	_, _ = w.bw.Write(b)
	_ = w.bw.Flush()
}

func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// appendFields formats the header map as net/http does: names in sorted order, invalid names
// dropped, line breaks in values made spaces and values trimmed. Framing fields are the
// commit's to write.
func (w *fastResponse) appendFields(b []byte) []byte {
	var keysBuf [16]string
	keys := keysBuf[:0]
	for k := range w.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "Date":
			w.hasDate = true
		case "Content-Type":
			w.hasType = true
		case "Transfer-Encoding":
			continue // the framing is the server's to choose
		case "Connection":
			for _, v := range w.header[k] {
				if strings.EqualFold(strings.TrimSpace(v), "close") {
					w.hasConnClose = true
					w.closeAfter = true
				}
			}
		}
		if !plainhead.FieldName([]byte(k)) {
			continue
		}
		for _, v := range w.header[k] {
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.Trim(v, " \t")...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199 || status == 204 || status == 304)
}

func (w *fastResponse) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.declared >= 0 && w.written > w.declared {
		return 0, http.ErrContentLength
	}
	if !w.committed {
		if len(w.pending)+len(p) <= fastBeforeChunking {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	return w.writeBody(p)
}

// writeBody writes p after the head, framed as committed.
func (w *fastResponse) writeBody(p []byte) (int, error) {
	if w.req.Method == http.MethodHead || len(p) == 0 {
		return len(p), nil
	}
	if w.chunked {
		var size [20]byte
		_, _ = w.bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
		_, _ = w.bw.WriteString("\r\n")
	}
	n, err := w.bw.Write(p)
	if err == nil && w.chunked {
		_, err = w.bw.WriteString("\r\n")
	}
	return n, err
}

// commit decides the framing and writes the head and the body held back; done: the handler
// has returned, so what is held back is the whole body.
func (w *fastResponse) commit(done bool) {
	w.committed = true
	b := w.head
	allowed := bodyAllowed(w.status)
	head := w.req.Method == http.MethodHead
	if !w.hasType && allowed && len(w.pending) > 0 {
		b = append(b, "Content-Type: "...)
		b = append(b, http.DetectContentType(w.pending)...)
		b = append(b, "\r\n"...)
	}
	if !w.hasDate {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, "\r\n"...)
	}
	switch {
	case !allowed || w.declared >= 0:
	case done && (!head || len(w.pending) > 0):
		w.declared = int64(len(w.pending))
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, w.declared, 10)
		b = append(b, "\r\n"...)
	case head:
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	default:
		w.closeAfter = true // HTTP/1.0 and a length unknown: the end of the body is the close
	}
	if w.req.Close || !w.fc.fs.keepAlive() {
		w.closeAfter = true
	}
	if w.closeAfter {
		if !w.hasConnClose {
			b = append(b, "Connection: close\r\n"...)
		}
	} else if !w.req.ProtoAtLeast(1, 1) {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.head = b
	_, _ = w.bw.Write(b)
	if len(w.pending) > 0 {
		_, _ = w.writeBody(w.pending)
		w.pending = w.pending[:0]
	}
}

// finish ends the response once the handler has returned.
func (w *fastResponse) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	if w.chunked {
		_, _ = w.bw.WriteString("0\r\n\r\n")
	}
	if w.req.Method != http.MethodHead && w.declared >= 0 && bodyAllowed(w.status) &&
		w.written != w.declared {
		w.closeAfter = true // the body is short of its length: the client must see the end
	}
}

// FlushError sends what is written so far (http.ResponseController's Flush).
func (w *fastResponse) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	return w.bw.Flush()
}

func (w *fastResponse) Flush() { _ = w.FlushError() }

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *fastResponse) SetReadDeadline(t time.Time) error  { return w.fc.c.SetReadDeadline(t) }
func (w *fastResponse) SetWriteDeadline(t time.Time) error { return w.fc.c.SetWriteDeadline(t) }

// ReadFrom sends a body of known length straight from src to the connection (sendfile(2) for
// a file, as net/http does); any other body goes through Write.
func (w *fastResponse) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.fc.c.(io.ReaderFrom)
	if !ok || w.declared < 0 || w.req.Method == http.MethodHead || !bodyAllowed(w.status) {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	if !w.committed {
		// Whatever was held back goes first, then the rest up to the declared length.
		w.commit(false)
	}
	if err := w.bw.Flush(); err != nil {
		return 0, err
	}
	// A file behind an io.LimitedReader is what sendfile(2) is tried for (net/http's
	// file server passes one): keep it that shape.
	left := w.declared - w.written
	lr, ok := src.(*io.LimitedReader)
	if !ok || lr.N > left {
		lr = &io.LimitedReader{R: src, N: left}
	}
	n, err := rf.ReadFrom(lr)
	w.written += n
	return n, err
}

// httpDate is the Date field's value, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateText{sec: sec, text: now.UTC().Format(http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type dateText struct {
	sec  int64
	text string
}

var cachedDate atomic.Pointer[dateText]
