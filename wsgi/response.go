package wsgi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/wsgi/request"
)

// writeHead turns the packed head the C side validated ("NNN reason\0name\0value\0...") into
// net/http headers and sends the status line. A one-shot body's length becomes Content-Length
// when the app gave none (bodyLen < 0: unknown, net/http chunks).
func writeHead(w http.ResponseWriter, head []byte, bodyLen int64) {
	h := w.Header()
	// No Content-Type from the app means none on the wire: a present-but-nil entry stops
	// net/http from sniffing one, and appending to it below works as usual.
	h["Content-Type"] = nil
	hasLength, appRequestID := false, false
	for name, value, rest := nextHeader(afterStatus(head)); name != nil; name, value, rest = nextHeader(rest) {
		key, ok := commonHeaders[string(name)] // no allocation for the usual names
		if !ok {
			key = textproto.CanonicalMIMEHeaderKey(string(name))
		}
		switch {
		case key == "Content-Length":
			hasLength = true
		case key == "X-Request-Id" && !appRequestID:
			// The app's own X-Request-Id (one it was handed upstream, say) replaces the one
			// pyhost set (requestid.go), rather than making a second header.
			appRequestID = true
			h[key] = nil
		}
		h[key] = append(h[key], string(value))
	}
	if !hasLength && bodyLen >= 0 {
		h["Content-Length"] = []string{strconv.FormatInt(bodyLen, 10)}
	}
	w.WriteHeader(statusCode(head))
}

// statusCode reads the three digits start_response checked at the head's start. The reader
// below trusts no more than it checks, like C (DESIGN rule 7): these functions also run inside
// callbacks from C, where a panic would end the process. A head without a valid code cannot
// come from start_response; it is answered as a server error, never handed to WriteHeader,
// which panics outside 100-999.
func statusCode(head []byte) int {
	if len(head) < 3 || head[0] < '1' || head[0] > '9' || head[1] < '0' || head[1] > '9' ||
		head[2] < '0' || head[2] > '9' {
		return http.StatusInternalServerError
	}
	return int(head[0]-'0')*100 + int(head[1]-'0')*10 + int(head[2]-'0')
}

// afterStatus skips a packed head's status line, leaving its header pairs (none if the status
// is not NUL-terminated).
func afterStatus(head []byte) []byte {
	i := bytes.IndexByte(head, 0)
	if i < 0 {
		return nil
	}
	return head[i+1:]
}

// nextHeader splits the first name/value pair off packed header pairs; name is nil at the end,
// or where a name or value lacks its NUL terminator.
func nextHeader(pairs []byte) (name, value, rest []byte) {
	i := bytes.IndexByte(pairs, 0)
	if i < 0 {
		return nil, nil, nil
	}
	j := bytes.IndexByte(pairs[i+1:], 0)
	if j < 0 {
		return nil, nil, nil
	}
	j += i + 1
	return pairs[:i], pairs[i+1 : j], pairs[j+1:]
}

// commonHeaders maps response-header names as apps usually spell them to net/http's
// canonical form, sparing the hot path a conversion.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Content-Type", "Content-Length", "Set-Cookie", "Cache-Control",
		"Location", "Last-Modified", "ETag", "Expires", "Vary", "Content-Encoding",
		"Content-Disposition", "X-Frame-Options", "X-Content-Type-Options", "Server",
		"Content-Language", "Access-Control-Allow-Origin", "Strict-Transport-Security"} {
		m[h] = h
		m[strings.ToLower(h)] = h
	}
	return m
}()

// appContentLength finds the app's Content-Length in a packed head, or -1.
func appContentLength(head []byte) int64 {
	for name, value, rest := nextHeader(afterStatus(head)); name != nil; name, value, rest = nextHeader(rest) {
		if bytes.EqualFold(name, []byte("Content-Length")) {
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}

// requestIO is the Go side of one request, called back from C while the app runs.
type requestIO struct {
	w      http.ResponseWriter
	r      *http.Request
	body   *bodyBuffer // the buffered body; nil when the app reads the connection (StreamBody)
	limits *request.Limits
	log    *slog.Logger
	read   int64  // body bytes the app read from the connection (StreamBody)
	id     string // the request id, for what the app logs (applog.go)
	// spool buffers a streamed response (spool.go), made by its first Send or SendFile; nil
	// for a list body, or with --stream-buffer 0.
	spool *spool
}

// ReadBody serves wsgi.input: from the buffer, or with StreamBody from the connection, each
// read under the body idle timeout and the whole under the body limit.
func (rio *requestIO) ReadBody(p []byte) (int, error) {
	if rio.body != nil {
		return rio.body.Read(p)
	}
	lim := rio.limits
	if lim.BodyIdleTimeout > 0 {
		_ = http.NewResponseController(rio.w).SetReadDeadline(time.Now().Add(lim.BodyIdleTimeout))
	}
	n, err := rio.r.Body.Read(p)
	rio.read += int64(n)
	if err == io.EOF && lim.BodyIdleTimeout > 0 {
		// net/http's own read after the body, which notices a client that goes away while
		// the app runs, must not time out.
		_ = http.NewResponseController(rio.w).SetReadDeadline(time.Time{})
	}
	if lim.MaxBodyBytes > 0 && rio.read > lim.MaxBodyBytes {
		rio.log.Warn("request body over the limit while the app read it; raise "+
			"--max-body-size if the app takes such uploads", "remote", rio.r.RemoteAddr,
			"path", rio.r.URL.Path, "limit", lim.MaxBodyBytes)
		dropConnection(rio.w)
		return 0, ErrBodyTooLarge
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		rio.log.Warn("the client sent no body byte within --body-timeout; the app's read "+
			"fails", "remote", rio.r.RemoteAddr, "path", rio.r.URL.Path,
			"timeout", lim.BodyIdleTimeout.String())
		dropConnection(rio.w)
	}
	return n, err
}

// Send writes a streamed response's head (first call only) and a chunk. With a stream buffer
// the chunk is copied into the response's spool and the call returns as soon as it is there;
// without one it returns once the client's socket took the chunk.
func (rio *requestIO) Send(head, chunk []byte) error {
	if rio.limits.StreamBuffer > 0 {
		if rio.spool == nil {
			rio.spool = newSpool(rio.w, rio.r, rio.limits, rio.log)
		}
		if head != nil {
			rio.spool.sendHead(head, -1)
		}
		return rio.spool.write(chunk)
	}
	if head != nil {
		writeHead(rio.w, head, -1)
	}
	if len(chunk) > 0 {
		if _, err := rio.w.Write(chunk); err != nil {
			return err
		}
	}
	return http.NewResponseController(rio.w).Flush()
}

// SendFile sends [offset, end) of a regular file — or the app's Content-Length of it — with
// sendfile(2) through net/http's ReaderFrom path, which needs a known length (no chunking).
func (rio *requestIO) SendFile(head []byte, fd int, offset int64) (int64, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return 0, cgo.ErrNotRegularFile
	}
	count := appContentLength(head)
	if count < 0 {
		count = max(st.Size-offset, 0)
	}
	// The app keeps its file object (and closes it when the request ends); we send from a
	// duplicate descriptor so closing ours cannot close theirs, and theirs cannot end ours.
	dup, err := syscall.Dup(fd)
	if err != nil {
		return 0, err
	}
	f := os.NewFile(uintptr(dup), "wsgi.file_wrapper")
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return 0, err
	}
	if rio.limits.StreamBuffer > 0 {
		// The file is its own buffer: the spool's writer sends it while the app's part ends
		// (and after, once the request thread is back), so the app does not wait for it.
		rio.spool = newSpool(rio.w, rio.r, rio.limits, rio.log)
		rio.spool.sendHead(head, count)
		rio.spool.sendFile(f, count)
		return count, nil
	}
	defer f.Close()
	writeHead(rio.w, head, count)
	return count, sendFile(rio.w, rio.r, f, count)
}
