package pyhost_test

// HTTP/1 framing that a client or an app can break (RFC 9112), on both --http-server modes:
// requests that must not keep their connection, methods no WSGI app can serve, app headers
// that would frame the response wrongly, queued requests whose client left or half-closed, and
// the head timeout.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpServerModes are the values of --http-server.
var httpServerModes = []string{"fast", "stdlib"}

// eachHTTPServer runs f as a subtest against a server started with args in each
// --http-server mode.
func eachHTTPServer(t *testing.T, args []string, f func(t *testing.T, s *server)) {
	for _, mode := range httpServerModes {
		t.Run(mode, func(t *testing.T) {
			f(t, startServer(t, append(append([]string(nil), args...), "--http-server", mode)...))
		})
	}
}

// TestHTTP10TransferEncodingClosesTheConnection: RFC 9112 §6.1: a server that receives an
// HTTP/1.0 request with Transfer-Encoding MUST treat its framing as faulty and close the
// connection after it. net/http ignores the field on HTTP/1.0 (and reads the body by its
// Content-Length or as empty), so without the close whatever a chunked-speaking proxy in front
// sent as the body is read here as a second, smuggled request.
func TestHTTP10TransferEncodingClosesTheConnection(t *testing.T) {
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct{ name, raw string }{
		{"Transfer-Encoding alone", "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" + smuggled},
		{"with a Content-Length", "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"on a GET", "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" + smuggled},
		{"after a plain request", "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
			"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
			smuggled},
		{"after a request net/http parsed", "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Content-Length: 2\r\n\r\nab" + "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n" + smuggled},
	}
	eachHTTPServer(t, []string{"testdata/hostile.py"}, func(t *testing.T, s *server) {
		for _, c := range cases {
			before := appCount(t, s)
			ex := rawExchange(t, s, c.raw, nil)
			wantResponses := strings.Count(c.raw, "HTTP/1.0\r\n")
			if len(ex.Responses) > wantResponses || !ex.Closed {
				t.Errorf("%s: %d responses, closed %v; want at most %d and the connection "+
					"closed (the smuggled request must not be read): %+v", c.name,
					len(ex.Responses), ex.Closed, wantResponses, ex.Responses)
			}
			if n := appCount(t, s) - before - 1; n > wantResponses {
				t.Errorf("%s: %d requests reached the app, want at most %d", c.name, n, wantResponses)
			}
		}
		if strings.Contains(s.Log.String(), "/smuggled") {
			t.Errorf("the smuggled request was served:\n%s", s.Log)
		}
		stillServes(t, s, "HTTP/1.0 requests with Transfer-Encoding")
	})
}

// TestHTTP10KeepAliveStillWorks: a plain HTTP/1.0 keep-alive request (no Transfer-Encoding)
// keeps its connection on the fast path, as before.
func TestHTTP10KeepAliveStillWorks(t *testing.T) {
	s := startServer(t, "testdata/hostile.py")
	ex := rawExchange(t, s, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"+
		"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil)
	if len(ex.Responses) != 2 || ex.Closed {
		t.Errorf("two kept-alive HTTP/1.0 requests: %d responses, closed %v", len(ex.Responses), ex.Closed)
	}
}

// TestConnectIsRefused: CONNECT asks for a tunnel, which no WSGI app can give over HTTP/1:
// it is answered 501 before any app sees it, and the connection is closed (the client may
// already be sending the tunnel's bytes).
func TestConnectIsRefused(t *testing.T) {
	eachHTTPServer(t, []string{"testdata/hostile.py"}, func(t *testing.T, s *server) {
		for _, raw := range []string{
			"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n",
			"CONNECT example.test:443 HTTP/1.0\r\n\r\n",
			"CONNECT /hello HTTP/1.1\r\nHost: x\r\n\r\n",
		} {
			before := appCount(t, s)
			ex := rawExchange(t, s, raw+"\x16\x03\x01 tunnel bytes", nil)
			if len(ex.Responses) != 1 || ex.Responses[0].Status != http.StatusNotImplemented ||
				!ex.Closed {
				t.Errorf("%q: %+v, closed %v; want one 501 and the connection closed", raw,
					ex.Responses, ex.Closed)
			}
			if n := appCount(t, s) - before - 1; n != 0 {
				t.Errorf("%q reached the app", raw)
			}
		}
		waitForLog(t, s, "CONNECT")
		stillServes(t, s, "CONNECT requests")
	})
}

// TestAppHeadersThatBreakFraming: a Content-Length that is not 1*DIGIT, two of them, or an
// informational (1xx) status from an app would frame the response wrongly (a 101 keeps
// speaking HTTP on a connection the client believes switched; two lengths split responses
// behind a lenient proxy). start_response refuses them like its other header checks: the
// request gets a 500 and the log names the header.
func TestAppHeadersThatBreakFraming(t *testing.T) {
	cases := []struct{ path, logWants string }{
		{"/error/content-length?v=%2B5", "Content-Length"},
		{"/error/content-length?v=-1", "Content-Length"},
		{"/error/content-length?v=5a", "Content-Length"},
		{"/error/content-length?v=0x5", "Content-Length"},
		{"/error/content-length?v=5,5", "Content-Length"},
		{"/error/content-length?v=", "Content-Length"},
		{"/error/content-length?v=+5+", "Content-Length"}, // " 5 ": net/http would drop it
		{"/error/content-length?v=99999999999999999999", "Content-Length"},
		{"/error/content-length?v=5&v=6", "more than one Content-Length"},
		{"/error/content-length?v=5&v=5", "more than one Content-Length"},
		{"/error/bad-status?s=101+Switching+Protocols", "informational"},
		{"/error/bad-status?s=100+Continue", "informational"},
		{"/error/bad-status?s=103+Early+Hints", "informational"},
	}
	eachHTTPServer(t, []string{"testdata/pep3333.py"}, func(t *testing.T, s *server) {
		for _, c := range cases {
			raw := "GET " + c.path + " HTTP/1.1\r\nHost: x\r\n\r\nGET /head HTTP/1.1\r\nHost: x\r\n\r\n"
			ex := rawExchange(t, s, raw, nil)
			if len(ex.Responses) == 0 || ex.Responses[0].Status != 500 {
				t.Errorf("%s: %+v; want a 500", c.path, ex.Responses)
				continue
			}
			for _, h := range ex.Heads {
				if strings.Count(h, "Content-Length:") > 1 || strings.Contains(h, " 101 ") ||
					strings.Contains(h, "+5") {
					t.Errorf("%s: the app's framing went out:\n%s", c.path, h)
				}
			}
			if strings.Contains(ex.Responses[0].Body, "never") {
				t.Errorf("%s: the app's body went out: %q", c.path, ex.Responses[0].Body)
			}
			if len(ex.Responses) != 2 || ex.Responses[1].Status != 200 {
				t.Errorf("%s: the next request on the connection: %+v", c.path, ex.Responses)
			}
			waitForLog(t, s, c.logWants)
		}
		// A valid one goes out as the length.
		ex := rawExchange(t, s, "GET /error/content-length?v=5 HTTP/1.1\r\nHost: x\r\n\r\n", nil)
		if len(ex.Responses) != 1 || ex.Responses[0].Status != 200 || ex.Responses[0].Body != "never" ||
			ex.Responses[0].ContentLength != 5 {
			t.Errorf("Content-Length 5: %+v", ex.Responses)
		}
	})
}

// queuedRequest keeps the only request thread of testdata/slow.py (--threads 1) busy with a
// request of 1.5 s and sends GET /?ms=10&id=ID on a connection of its own, where it waits for
// that thread. It returns the connection and a channel closed once the first request ended.
func queuedRequest(t *testing.T, s *server, id string) (net.Conn, <-chan struct{}) {
	t.Helper()
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		s.get(t, "/?ms=1500&id=first")
	}()
	waitForLog(t, s, "slow.py: started id=first")
	c := dial(t, s)
	if _, err := io.WriteString(c, "GET /?ms=10&id="+id+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // queued behind the first
	return c, busy
}

// TestQueuedRequestOfAClientThatLeft: a request waiting for a request thread whose client
// closes its connection is dropped, not run, on the fast path as with net/http.
func TestQueuedRequestOfAClientThatLeft(t *testing.T) {
	eachHTTPServer(t, []string{repoPath("testdata", "slow.py"), "--threads", "1"}, func(t *testing.T, s *server) {
		c, busy := queuedRequest(t, s, "gone")
		c.Close()
		<-busy
		if _, body := s.get(t, "/?ms=10&id=after"); !strings.Contains(string(body), "id=after") {
			t.Fatalf("the next request: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
		if strings.Contains(s.Log.String(), "started id=gone") {
			t.Errorf("the request of the client that left ran:\n%s", s.Log)
		}
	})
}

// TestQueuedRequestOfAClientThatHalfClosed: a request that waited for a request thread while
// its client half-closed (shutdown(SHUT_WR), as `nc -N` or an HTTP/1.0 tool may) is dropped
// without running; the client must never get a success answer for it, since the app never ran.
func TestQueuedRequestOfAClientThatHalfClosed(t *testing.T) {
	eachHTTPServer(t, []string{repoPath("testdata", "slow.py"), "--threads", "1"}, func(t *testing.T, s *server) {
		c, busy := queuedRequest(t, s, "halfclosed")
		if err := c.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode < 500 {
				t.Errorf("the half-closed client got %d %q for a request the app never ran",
					resp.StatusCode, body)
			}
		} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
			t.Errorf("reading the answer: %v; want a 5xx or the connection closed", err)
		}
		<-busy
		time.Sleep(200 * time.Millisecond)
		if strings.Contains(s.Log.String(), "started id=halfclosed") {
			t.Errorf("the request of the client that half-closed ran:\n%s", s.Log)
		}
	})
}

// TestHeaderTimeoutIsOneDeadline: --header-timeout bounds the whole request head, also when
// the fast path hands the connection to net/http part-way through it (a head longer than the
// fast path's buffer), and a head that times out gets one 408, not one per reader.
func TestHeaderTimeoutIsOneDeadline(t *testing.T) {
	eachHTTPServer(t, []string{"testdata/hostile.py", "--header-timeout", "6s"}, func(t *testing.T, s *server) {
		c := dial(t, s)
		start := time.Now()
		head := "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: " + strings.Repeat("a", 4000)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		// Most of the timeout later, more than fills the fast path's 4 KiB buffer (a hand-off
		// to net/http), then a byte now and then: the head never ends.
		time.Sleep(5 * time.Second)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			if _, err := io.WriteString(c, strings.Repeat("b", 200)); err != nil {
				return
			}
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := io.WriteString(c, "b"); err != nil {
						return
					}
				}
			}
		}()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(c)
		closed := time.Since(start)
		if err != nil && !isReset(err) {
			t.Fatalf("the connection was not closed: %v", err)
		}
		// A bound with two and a half seconds to spare either way (a loaded machine answers
		// late): one deadline closes it at 6 s, a deadline started again at the hand-off at 11 s.
		if closed > 8500*time.Millisecond {
			t.Errorf("a head trickled for %v before the connection closed; --header-timeout is 6s", closed.Round(time.Millisecond))
		}
		if n := strings.Count(string(got), "408 Request Timeout\r\n"); n > 1 {
			t.Errorf("%d 408 responses on one connection:\n%q", n, got)
		}
	})
}

// TestOne408ForAStalledHead: a head stalled past --header-timeout gets exactly one 408,
// whether it stalled on a fresh connection, on a kept-alive one (after a first answer), or
// past the fast path's buffer.
func TestOne408ForAStalledHead(t *testing.T) {
	cases := []struct {
		name     string
		answered bool // a first request is answered on the connection before the stalled head
		stalled  string
	}{
		{"fresh connection", false, "GET /hello HTTP/1.1\r\nHost: x\r\n"},
		{"kept-alive connection", true, "GET /hello HTTP/1.1\r\nHost: x\r\n"},
		{"past the fast path's buffer", false, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: " + strings.Repeat("a", 5000)},
		{"past the fast path's buffer, kept-alive", true, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: " + strings.Repeat("a", 5000)},
	}
	eachHTTPServer(t, []string{"testdata/hostile.py", "--header-timeout", "1s"}, func(t *testing.T, s *server) {
		for _, c := range cases {
			conn := dial(t, s)
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(conn)
			if c.answered {
				if _, err := io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s: the first request: %v", c.name, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			if _, err := io.WriteString(conn, c.stalled); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(br)
			conn.Close()
			if err != nil && !isReset(err) {
				t.Fatalf("%s: the connection was not closed: %v", c.name, err)
			}
			if n := strings.Count(string(got), " 408 Request Timeout\r\n"); n != 1 {
				t.Errorf("%s: %d 408 responses, want 1:\n%q", c.name, n, got)
			}
		}
	})
}
