package httpd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzFastPathAsNetHTTP: whatever bytes a client sends on a connection, a FastServer in front
// of net/http writes back the responses net/http alone writes, heads byte for byte but for
// Date's value, bodies the same (chunk sizes aside), and closes the connection after the same
// response: the fast path answers only what it answers
// as net/http would, and a connection it hands over, the bytes it read included, gets
// net/http's answers. The client sends its bytes, a blank line, and then nothing more (the
// server's next read times out). The blank line ends a head left unfinished: one unfinished
// when the client falls silent gets 400 from net/http (its line reader passes a partial line
// on as whole when a read fails), while the fast path closes the connection without a word.
func FuzzFastPathAsNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\nHEAD /chunk HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /chunk HTTP/1.1\r\nHost: h\r\n\r\nGET /chunk HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nPOST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\n\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, std := exchange(t, in, true), exchange(t, in, false)
		if f, s := responses(fast), responses(std); f != s {
			t.Fatalf("%q:\nfast path wrote:\n%s\nnet/http wrote:\n%s", in, f, s)
		}
	})
}

// exchange serves in on one connection, through a FastServer or net/http alone, and returns
// what the server wrote until it closed the connection.
func exchange(t *testing.T, in []byte, fastPath bool) []byte {
	c := &scriptedConn{in: append(bytes.Clone(in), "\r\n\r\n"...), closed: make(chan struct{})}
	ln := &oneConnListener{c: c, closed: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(describeRequest)}
	var hs interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
	} = srv
	if fastPath {
		hs = NewFastServer(srv, ln.Addr())
	}
	go func() { _ = hs.Serve(ln) }()
	select {
	case <-c.closed: // the client's silence timed out, if nothing else closed it first
	case <-time.After(10 * time.Second):
		t.Fatalf("%q: the connection is still open after 10 s (fast path: %v)", in, fastPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("%q: shutdown (fast path: %v): %v", in, fastPath, err)
	}
	return c.output()
}

// responses lists the responses in out, one a line: the head as written (Date's value
// masked), then the body as the client reads it (chunks joined). What does not parse as a
// response is listed as it is.
func responses(out []byte) string {
	var b strings.Builder
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		if _, err := br.Peek(1); err != nil {
			return b.String()
		}
		head, fields, ok := readHead(br)
		b.WriteString(dateField.ReplaceAllString(head, "Date: -\r\n"))
		if !ok {
			rest, _ := io.ReadAll(br)
			fmt.Fprintf(&b, "%q (not a response)\n", rest)
			return b.String()
		}
		status, _ := strconv.Atoi(strings.Fields(head + " 0 0")[1])
		var body io.Reader
		switch length, err := strconv.ParseInt(fields.Get("Content-Length"), 10, 64); {
		case fields.Get("X-Method") == "HEAD" || status < 200 || status == 204 || status == 304:
			body = strings.NewReader("")
		case fields.Get("Transfer-Encoding") == "chunked":
			body = httputil.NewChunkedReader(br)
		case err == nil:
			body = io.LimitReader(br, length)
		default:
			body = br // to the end of the connection
		}
		data, err := io.ReadAll(body)
		fmt.Fprintf(&b, "body %q (error: %v)\n", data, err)
		if err != nil {
			return b.String()
		}
	}
}

var dateField = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

// readHead reads a response head through its blank line; ok is false if none is there.
func readHead(br *bufio.Reader) (head string, fields http.Header, ok bool) {
	var raw strings.Builder
	fields = http.Header{}
	for first := true; ; first = false {
		line, err := br.ReadString('\n')
		raw.WriteString(line)
		if err != nil || first && !strings.HasPrefix(line, "HTTP/1.") {
			return raw.String(), fields, false
		}
		if line == "\r\n" {
			return raw.String(), fields, true
		}
		if k, v, found := strings.Cut(strings.TrimRight(line, "\r\n"), ": "); found && !first {
			fields.Add(k, v)
		}
	}
}

// describeRequest answers with what it read of the request, so that a request the fast path
// parsed differently shows; a path with "chunk" in it gets a body long enough to be chunked.
func describeRequest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	})
	w.Header().Set("X-Method", r.Method)
	fmt.Fprintf(w, "%s %q %q %s host=%q close=%v length=%d te=%q body=%q err=%v\n", r.Method,
		r.RequestURI, r.URL.String(), r.Proto, r.Host, r.Close, r.ContentLength,
		r.TransferEncoding, body, err != nil)
	for _, k := range keys {
		fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
	}
	if strings.Contains(r.URL.Path, "chunk") {
		_, _ = w.Write(bytes.Repeat([]byte("0123456789abcdef"), 200))
	}
}

// scriptedConn is a client that sends in and then waits: once in is read, reads time out, as
// for a client that sends nothing more until the server's timeout.
type scriptedConn struct {
	mu     sync.Mutex
	in     []byte
	out    bytes.Buffer
	closed chan struct{}
	once   sync.Once
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.in) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *scriptedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.out.Write(p)
}

func (c *scriptedConn) output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *scriptedConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.once.Do(func() { close(c.closed) })
	return nil
}

var (
	clientAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}
	serverAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80}
)

func (c *scriptedConn) LocalAddr() net.Addr                { return serverAddr }
func (c *scriptedConn) RemoteAddr() net.Addr               { return clientAddr }
func (c *scriptedConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(t time.Time) error { return nil }

// oneConnListener accepts c once, then waits until it is closed.
type oneConnListener struct {
	mu     sync.Mutex
	c      net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return serverAddr }
