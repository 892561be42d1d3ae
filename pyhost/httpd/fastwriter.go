package httpd

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/pyhost/httpd/plainhead"
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

	header      http.Header
	status      int
	wroteHeader bool // the status is chosen and the header map's fields taken (keys, values)
	// keys and values are the header map as it was when the status was written (net/http's
	// snapshot: later changes to the map do not reach the response).
	keys       []string
	values     [][]string
	head       []byte // the head, formatted at commit
	committed  bool   // head written to bw, framing decided
	pending    []byte // body bytes before the head is committed
	declared   int64  // the response's Content-Length, -1 if none
	written    int64  // body bytes the handler wrote
	chunked    bool
	closeAfter bool
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
	header, head, pending, keys, values := w.header, w.head, w.pending, w.keys, w.values
	if header == nil {
		header = make(http.Header, 8)
	}
	clear(header)
	clear(values) // let go of the last response's value slices
	*w = fastResponse{fc: fc, req: req, bw: bw, header: header, head: head[:0],
		pending: pending[:0], keys: keys[:0], values: values[:0], declared: -1}
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
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.declared = v
		} else {
			w.fc.fs.logf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
	for k := range w.header {
		w.keys = append(w.keys, k)
	}
	slices.Sort(w.keys)
	for _, k := range w.keys {
		w.values = append(w.values, w.header[k])
	}
}

// field returns the first value the response's snapshot has for key, and whether it has key.
func (w *fastResponse) field(key string) (string, bool) {
	i, ok := slices.BinarySearch(w.keys, key)
	if !ok {
		return "", false
	}
	if len(w.values[i]) == 0 {
		return "", true
	}
	return w.values[i][0], true
}

func (w *fastResponse) writeInformational(code int) {
	b := appendStatusLine(nil, w.req.ProtoAtLeast(1, 1), code)
	keys := slices.Sorted(maps.Keys(w.header))
	for _, k := range keys {
		if k != "Content-Length" && k != "Transfer-Encoding" {
			b = appendField(b, k, w.header[k])
		}
	}
	b = append(b, "\r\n"...)
	_, _ = w.bw.Write(b)
	_ = w.bw.Flush()
}

// appendStatusLine writes the status line as net/http does, in the request's HTTP version.
func appendStatusLine(b []byte, http11 bool, code int) []byte {
	if http11 {
		b = append(b, "HTTP/1.1 "...)
	} else {
		b = append(b, "HTTP/1.0 "...)
	}
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

// appendField formats one field as net/http's Header.Write does: an invalid name dropped,
// line breaks in values made spaces, values trimmed.
func appendField(b []byte, k string, values []string) []byte {
	if !plainhead.FieldName([]byte(k)) {
		return b
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		}
		b = append(b, k...)
		b = append(b, ": "...)
		b = append(b, strings.Trim(v, " \t")...)
		b = append(b, "\r\n"...)
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
		w.commitBefore(p)
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
func (w *fastResponse) commit(done bool) { w.commitWith(done, nil) }

// commitBefore commits because next, a write that no longer fits what is held back, follows:
// a missing Content-Type is sniffed from the body's first bytes, next's included, as net/http
// sniffs what its buffer passes on first.
func (w *fastResponse) commitBefore(next []byte) { w.commitWith(false, next) }

func (w *fastResponse) commitWith(done bool, next []byte) {
	w.committed = true
	added, dropConnection := w.frame(done, next)
	w.head = w.appendHead(w.head[:0], added, dropConnection)
	_, _ = w.bw.Write(w.head)
	if len(w.pending) > 0 {
		_, _ = w.writeBody(w.pending)
		w.pending = w.pending[:0]
	}
}

// addedFields are the fields the server adds after the handler's ("": not added).
type addedFields struct{ length, contentType, connection, encoding string }

// frame decides the framing as net/http does (chunkWriter.writeHeader), decision for
// decision: the server's fields, chunked or not, whether the connection closes after the
// response, and whether the handler's Connection field is dropped for the server's.
func (w *fastResponse) frame(done bool, next []byte) (added addedFields, dropConnection bool) {
	req := w.req
	isHEAD := req.Method == http.MethodHead
	allowed := bodyAllowed(w.status)
	http11 := req.ProtoAtLeast(1, 1)
	keepAlives := w.fc.fs.keepAlive()
	reqConn := req.Header.Get("Connection")
	wants10KeepAlive := !http11 && hasToken(reqConn, "keep-alive")
	wantsClose := req.Close || hasToken(reqConn, "close")
	conn, hasConn := w.field("Connection")
	_, hasCL := w.field("Content-Length")
	_, hasType := w.field("Content-Type")
	encoding, _ := w.field("Content-Encoding")

	if done && allowed && !hasCL && (!isHEAD || len(w.pending) > 0) {
		w.declared = int64(len(w.pending))
		added.length = strconv.Itoa(len(w.pending))
	}
	if allowed && encoding == "" && !hasType && len(w.pending)+len(next) > 0 {
		added.contentType = http.DetectContentType(sniffSample(w.pending, next))
	}
	if wants10KeepAlive && (isHEAD || w.declared >= 0 || !allowed) {
		if !hasConn {
			added.connection = "keep-alive"
		}
	} else if !http11 || wantsClose {
		w.closeAfter = true
	}
	if conn == "close" || !keepAlives {
		w.closeAfter = true
	}
	switch {
	case isHEAD || !allowed || w.status == http.StatusNoContent || w.declared >= 0:
	case http11:
		w.chunked = true
		added.encoding = "chunked"
	default:
		w.closeAfter = true // HTTP/1.0, length unknown: the body ends where the connection does
	}
	dropConnection = w.closeAfter && (!keepAlives || !hasToken(conn, "close"))
	if dropConnection {
		added.connection = ""
		if http11 {
			added.connection = "close"
		}
	}
	return added, dropConnection
}

// appendHead formats the head as net/http does: the status line, the handler's fields but
// those the framing replaces, then the server's (Date, Content-Length, Content-Type,
// Connection, Transfer-Encoding, in that order).
func (w *fastResponse) appendHead(b []byte, added addedFields, dropConnection bool) []byte {
	allowed := bodyAllowed(w.status)
	b = appendStatusLine(b, w.req.ProtoAtLeast(1, 1), w.status)
	for i, k := range w.keys {
		switch {
		case k == "Transfer-Encoding", // the framing is the server's
			k == "Connection" && dropConnection,
			k == "Content-Length" && (w.chunked || !allowed),
			k == "Content-Type" && w.status == http.StatusNotModified:
			continue
		}
		b = appendField(b, k, w.values[i])
	}
	var date string
	if _, hasDate := w.field("Date"); !hasDate {
		date = httpDate()
	}
	for _, f := range [...]struct{ name, value string }{{"Date", date},
		{"Content-Length", added.length}, {"Content-Type", added.contentType},
		{"Connection", added.connection}, {"Transfer-Encoding", added.encoding}} {
		if f.value != "" {
			b = append(b, f.name...)
			b = append(b, ": "...)
			b = append(b, f.value...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// hasToken reports whether token (lower case) appears in v between separators (space, comma,
// tab) in any case: net/http's test for a server's Connection decisions.
func hasToken(v, token string) bool {
	for i := 0; i+len(token) <= len(v); i++ {
		if i > 0 && !isTokenBoundary(v[i-1]) ||
			i+len(token) < len(v) && !isTokenBoundary(v[i+len(token)]) {
			continue
		}
		if strings.EqualFold(v[i:i+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }

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

// sniffSample is the body's first bytes, as many as http.DetectContentType reads, from what is
// held back followed by the write that comes next.
func sniffSample(pending, next []byte) []byte {
	const sniffLen = 512 // what DetectContentType considers
	if len(pending) >= sniffLen || len(next) == 0 {
		return pending
	}
	if len(pending) == 0 {
		return next[:min(len(next), sniffLen)]
	}
	return append(pending[:len(pending):len(pending)], next[:min(len(next), sniffLen-len(pending))]...)
}
