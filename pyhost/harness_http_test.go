package pyhost_test

// HTTP for the tests: clients, requests that fail the test (and their variants for goroutines
// other than the test's, which report instead), checks that a server still serves, raw
// connections for what Go's client would not send, and request bodies.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// client is the tests' client: it keeps connections alive, and bounds each exchange (a
// liveness bound, not a timing).
var client = &http.Client{Timeout: 60 * time.Second}

// freshClient opens a new connection per request, so that consecutive requests land on
// whichever worker accepts first rather than on the one a kept-alive connection belongs to.
func freshClient() *http.Client { return freshClientWithin(20 * time.Second) }

// freshClientWithin is freshClient with a bound of d on each exchange.
func freshClientWithin(d time.Duration) *http.Client {
	return &http.Client{Timeout: d, Transport: &http.Transport{DisableKeepAlives: true}}
}

// keptAliveClient keeps its connections alive in a pool of its own: each such client is one
// more kept-alive connection.
func keptAliveClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{}}
}

// request sends METHOD url with body and the header pairs hdr (a "Host" pair sets the
// request's host) through c, and returns the response and its whole body. A request that fails
// fails the test, showing log (the server's) unless it is nil.
func request(t testing.TB, c *http.Client, log *logBuffer, method, url string, body io.Reader,
	hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		if log != nil {
			t.Fatalf("%s %s: %v\nserver log:\n%s", method, url, err, log)
		}
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

// do sends METHOD path to the server (see request) and returns the response and its body.
func (s *server) do(t testing.TB, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return request(t, client, s.Log, method, s.URL+path, body, hdr...)
}

// get fetches path from the server and returns the response and its body.
func (s *server) get(t testing.TB, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return s.do(t, http.MethodGet, path, nil, hdr...)
}

// getText fetches url and returns the status and body.
func getText(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, body := request(t, client, nil, http.MethodGet, url, nil)
	return resp.StatusCode, string(body)
}

// getJSONFrom fetches url through c and decodes the JSON body of its 200 answer into v;
// anything else fails the test (showing log, the server's, unless it is nil).
func getJSONFrom(t testing.TB, c *http.Client, log *logBuffer, url string, v any, hdr ...string) {
	t.Helper()
	resp, body := request(t, c, log, http.MethodGet, url, nil, hdr...)
	if resp.StatusCode != http.StatusOK {
		if log != nil {
			t.Fatalf("GET %s: %d %s\nserver log:\n%s", url, resp.StatusCode, body, log)
		}
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
}

// getJSON fetches path from the server, wants 200 and decodes the JSON body into v.
func (s *server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	getJSONFrom(t, client, s.Log, s.URL+path, v)
}

// tryGetJSON is getJSONFrom for goroutines other than the test's: it returns what went wrong.
func tryGetJSON(c *http.Client, url string, v any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	body, err := readAll(resp)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// readAll reads and closes a response's body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// jsonOf decodes a JSON object, failing the test on anything else.
func jsonOf(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return m
}

// str shows a JSON string that may be null.
func str(p *string) string {
	if p == nil {
		return "<None>"
	}
	return *p
}

// fetch is s.do for goroutines other than the test's: it reports, rather than stops on, a
// failed request (a crashed server fails every later one).
func fetch(t *testing.T, s *server, method, path string, body []byte) (int, []byte, bool) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil, false
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v\nserver log:\n%s", method, path, err, s.Log)
		return 0, nil, false
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s: reading the body: %v", method, path, err)
		return 0, nil, false
	}
	return resp.StatusCode, out, true
}

// hammer runs fn(0..n-1) on `workers` goroutines, and stops early once the test failed.
func hammer(t *testing.T, n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && !t.Failed(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// concurrentGets sends GETs from clients goroutines at once, perClient in a row from each:
// path(c, i) is client c's i-th, which must be answered 200 with the body want(c, i). It
// returns what went wrong, once per client at most (a client stops at its first failure).
func concurrentGets(s *server, clients, perClient int, path, want func(c, i int) string) []error {
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Go(func() {
			for i := 0; i < perClient; i++ {
				resp, err := client.Get(s.URL + path(c, i))
				if err != nil {
					errs <- err
					return
				}
				body, err := readAll(resp)
				if err != nil || resp.StatusCode != 200 || string(body) != want(c, i) {
					errs <- fmt.Errorf("GET %s: %d %q, want %q (%v)", path(c, i), resp.StatusCode,
						body, want(c, i), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// plainRequestServed checks that the server answers a plain request for / with "Hello,
// World!", reporting rather than stopping when it does not.
func plainRequestServed(t *testing.T, s *server) {
	t.Helper()
	status, body, ok := fetch(t, s, "GET", "/", nil)
	if ok && (status != http.StatusOK || string(body) != "Hello, World!\n") {
		t.Errorf("a plain request: status %d, body %q", status, body)
	}
}

// stillServes fails the test unless a fresh client gets /hello within a few seconds.
func stillServes(t *testing.T, s *server, after string) {
	t.Helper()
	// A bound, not a timing: a wedged server never answers. 5 s leaves room for a loaded CI
	// machine (the slow-reader test's second round of write timeouts can end late there).
	resp, err := freshClientWithin(5 * time.Second).Get(s.URL + "/hello")
	if err != nil {
		t.Fatalf("after %s, a normal client was not served within 5s: %v", after, err)
	}
	body, _ := readAll(resp)
	if resp.StatusCode != 200 || string(body) != "Hello, World!\n" {
		t.Fatalf("after %s: %d %q", after, resp.StatusCode, body)
	}
}

// appCount is how many requests reached the app (testdata/hostile.py) so far.
func appCount(t *testing.T, s *server) int {
	t.Helper()
	_, body := s.get(t, "/count")
	n, err := strconv.Atoi(string(body))
	if err != nil {
		t.Fatalf("/count: %q", body)
	}
	return n
}

// dial opens a connection to the server's first listener, closed when the test ends.
func dial(t *testing.T, s *server) net.Conn {
	t.Helper()
	return dialWith(t, s, &net.Dialer{})
}

// tinyWindowConn is dial with a 4 KiB receive buffer, so that a client that reads slowly
// makes the server's writes wait almost at once.
func tinyWindowConn(t *testing.T, s *server) net.Conn {
	t.Helper()
	return dialWith(t, s, &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}})
}

func dialWith(t *testing.T, s *server, d *net.Dialer) net.Conn {
	t.Helper()
	conn, err := d.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// exchange sends raw bytes and reads one response (10 s at most); it reports whether the
// server then closed the connection (checked for up to 2 s).
func exchange(t *testing.T, s *server, raw string) (resp *http.Response, body string, closed bool) {
	t.Helper()
	conn := dial(t, s)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, raw) }() // the server may refuse before reading it all
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response to %.80q: %v", raw, err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	return resp, string(b), err == io.EOF || isReset(err)
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "reset") }

// rawRequest sends req on a fresh connection and returns everything the server sends
// until it closes the connection (30 s at most).
func rawRequest(t *testing.T, s *server, req string) string {
	t.Helper()
	conn := dial(t, s)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatalf("reading: %v (got %q)", err, out)
	}
	return string(out)
}

// wantHeadTimeout sends the head of a GET of path and never ends it: past --header-timeout
// the server (or router, says where) must answer 408 (20 s at most) and log why.
func wantHeadTimeout(t *testing.T, s *server, path, where string) {
	t.Helper()
	conn := dial(t, s)
	_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("a head stalled past --header-timeout%s: %v %v, want 408", where, resp, err)
	}
	waitForLog(t, s, "did not finish its request head within --header-timeout")
}

// connExchange is what a raw request (or several, pipelined) got back on one connection: each
// response as a client reads it, and whether the server then closed the connection.
type connExchange struct {
	Responses []seenResponse
	Closed    bool
	// Heads are the response heads as they came, byte for byte but for the values of Date
	// and X-Request-Id: the same fields in the same order, the same status lines.
	Heads []string
}

// responseHead finds response heads in what a connection received; dateOrID masks the values
// that differ between two servers.
var (
	responseHead = regexp.MustCompile(`HTTP/1\.[01] [0-9]{3}[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n`)
	dateOrID     = regexp.MustCompile(`(?m)^(Date|X-Request-Id): [^\r\n]*`)
)

type seenResponse struct {
	Status           int
	Header           http.Header
	Body             string
	ContentLength    int64
	TransferEncoding []string
	Close            bool
}

// rawExchange writes raw to a new connection to the server and reads responses until the
// server closes the connection or sends nothing more for 300 ms. HEAD responses are read as
// such when the request that asked for them is a HEAD (heads says which, in order).
func rawExchange(t *testing.T, s *server, raw string, heads []bool) connExchange {
	t.Helper()
	c := dial(t, s)
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	var ex connExchange
	for i := 0; ; i++ {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := br.Peek(1); err != nil {
			var ne net.Error
			ex.Closed = !(errors.As(err, &ne) && ne.Timeout())
			for _, h := range responseHead.FindAllString(got.String(), -1) {
				ex.Heads = append(ex.Heads, dateOrID.ReplaceAllString(h, "$1: (value)"))
			}
			return ex
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		method := http.MethodGet
		if i < len(heads) && heads[i] {
			method = http.MethodHead
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading response %d to %q: %v", i, raw, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			// A response cut off mid-body (the app failed after it started): what arrived.
			body = append(body, "<cut off>"...)
		}
		h := resp.Header.Clone()
		for _, k := range []string{"Date", "X-Request-Id", "Last-Modified", "Etag"} {
			if _, ok := h[k]; ok {
				h[k] = []string{"(present)"}
			}
		}
		ex.Responses = append(ex.Responses, seenResponse{Status: resp.StatusCode, Header: h,
			Body: string(body), ContentLength: resp.ContentLength,
			TransferEncoding: resp.TransferEncoding, Close: resp.Close})
	}
}

// randomBytes is n random bytes, a body no compression or pattern can fake.
func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// chunkedReader hides the length so net/http sends a chunked body.
type chunkedReader struct{ r io.Reader }

func (c chunkedReader) Read(p []byte) (int, error) { return c.r.Read(p) }
