package pyhost_test

// Hostile clients: malformed and smuggling requests (RFC 9112), oversized heads and bodies,
// slowloris, slow uploads, slow readers, thousands of idle connections and a 1 GiB upload.
// Each attack is followed by proof that the server still serves a normal client within a
// second (a liveness bound with a 1 s client timeout, not a performance assertion). All on
// loopback, each bounded in connections and time.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMalformedRequests: requests RFC 9112 says a server must reject (or that smuggle a second
// request) are answered with a 4xx (505 for a version, 501 for an unknown transfer coding) and
// never reach the app.
func TestMalformedRequests(t *testing.T) {
	s := startServer(t, "testdata/hostile.py")
	cases := []struct{ name, raw string }{
		{"duplicate differing Content-Length",
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"},
		{"signed Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc"},
		{"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc"},
		{"non-numeric Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3a\r\n\r\nabc"},
		{"hex Content-Length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc"},
		{"bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
		{"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n"},
		{"negative chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n"},
		{"chunk longer than its size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"},
		{"unknown transfer coding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc"},
		{"chunked not last", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"},
		{"bare CR in a value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n"},
		{"NUL in a value", "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n"},
		{"space before the colon", "GET /hello HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n"},
		{"space in a field name", "GET /hello HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n"},
		{"invalid method", "G(T /hello HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"invalid version", "GET /hello HTTP/1.x\r\nHost: x\r\n\r\n"},
		{"unsupported version", "GET /hello HTTP/2.7\r\nHost: x\r\n\r\n"},
		{"no Host in HTTP/1.1", "GET /hello HTTP/1.1\r\n\r\n"},
		{"two Hosts", "GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
		{"bare LF line ending in the request line", "GET /hello HTTP/1.1\nHost: x\r\nX-A:\rb\r\n\r\n"},
	}
	before := appCount(t, s)
	for _, c := range cases {
		resp, body, _ := exchange(t, s, c.raw)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 && resp.StatusCode != 501 && resp.StatusCode != 505 {
			t.Errorf("%s: %d %q, want a 4xx (or 501/505)", c.name, resp.StatusCode, body)
		}
	}
	if n := appCount(t, s) - before - 1; n != 0 {
		t.Errorf("%d malformed requests reached the app", n)
	}
	// obs-fold: RFC 9112 §5.2 lets a server reject it (400) or replace it with spaces, which
	// net/http does: either way one request, never a second header line.
	if resp, body, _ := exchange(t, s, "GET /hello HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n"); resp.StatusCode != 400 && resp.StatusCode != 200 {
		t.Errorf("obs-fold: %d %q, want 400 or 200", resp.StatusCode, body)
	}
	if !strings.Contains(s.Log.String(), "request refused") {
		t.Errorf("refusals were not logged:\n%s", s.Log)
	}
	stillServes(t, s, "malformed requests")
}

// TestContentLengthWithTransferEncoding: RFC 9112 §6.1: a request with both may be processed
// as chunked, but the connection MUST be closed after it, so whatever the Content-Length
// framing would have left behind is never read as a next request.
func TestContentLengthWithTransferEncoding(t *testing.T) {
	s := startServer(t, "testdata/hostile.py")
	before := appCount(t, s)
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	raw := "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(5+len(smuggled)) +
		"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
	resp, body, closed := exchange(t, s, raw)
	if resp.StatusCode >= 500 || (resp.StatusCode == 200 && body != "read 0") {
		t.Errorf("CL+TE: %d %q, want 400 or the chunked body (0 bytes)", resp.StatusCode, body)
	}
	if !closed || !resp.Close {
		t.Errorf("CL+TE: connection left open (Connection: %q); RFC 9112 §6.1 says close it",
			resp.Header.Get("Connection"))
	}
	time.Sleep(200 * time.Millisecond) // let a smuggled request reach the app, if it would
	if n := appCount(t, s) - before - 1; n > 1 {
		t.Errorf("the smuggled request reached the app (%d requests for 1)", n+1)
	}
	stillServes(t, s, "a CL+TE request")
}

// TestOversizedRequests: head bytes and field count → 431, request line → 414 (also past
// --max-header-bytes, where net/http refuses the head before pyhost sees it and the
// connection turns its 431 into 414), body → 413, refused before reading when the
// Content-Length says so, cut off when chunked.
func TestOversizedRequests(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--max-body-size", "1MiB")
	headers := func(n, size int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-H%d: %s\r\n", i, strings.Repeat("v", size))
		}
		return b.String()
	}
	cases := []struct {
		name, raw string
		want      int
	}{
		{"34 KiB of header fields", "GET /hello HTTP/1.1\r\nHost: x\r\n" + headers(34, 1000) + "\r\n", 431},
		{"1 MiB of header fields", "GET /hello HTTP/1.1\r\nHost: x\r\n" + headers(1024, 1024) + "\r\n", 431},
		{"101 header fields", "GET /hello HTTP/1.1\r\nHost: x\r\n" + headers(100, 1) + "\r\n", 431},
		{"20,000 header fields", "GET /hello HTTP/1.1\r\nHost: x\r\n" + headers(20000, 0) + "\r\n", 431},
		{"10 KB request line", "GET /" + strings.Repeat("a", 10000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"1 MiB request line", "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"1 MiB request line, no end", "GET /" + strings.Repeat("a", 1<<20), 414},
		{"Content-Length over the limit, body not sent", "POST /echo HTTP/1.1\r\nHost: x\r\n" +
			"Content-Length: 2000000\r\n\r\n", 413},
		{"chunked body over the limit", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strings.Repeat("10000\r\n"+strings.Repeat("z", 0x10000)+"\r\n", 17) + "0\r\n\r\n", 413},
	}
	before := appCount(t, s)
	for _, c := range cases {
		resp, body, closed := exchange(t, s, c.raw)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %.100q, want %d", c.name, resp.StatusCode, body, c.want)
		}
		if !closed {
			t.Errorf("%s: connection left open after a refusal", c.name)
		}
	}
	if n := appCount(t, s) - before - 1; n != 0 {
		t.Errorf("%d oversized requests reached the app", n)
	}
	for _, want := range []string{"too many request header fields", "request line too long",
		"request body over the limit (Content-Length)", "request body over the limit;",
		"request refused by the HTTP parser", "request line too long (longer than"} {
		if !strings.Contains(s.Log.String(), want) {
			t.Errorf("log does not say %q:\n%.3000s", want, s.Log)
		}
	}
	// Up to the limits everything is served.
	resp, body, _ := exchange(t, s, "POST /echo HTTP/1.1\r\nHost: x\r\n"+headers(90, 100)+
		"Content-Length: 1048576\r\nConnection: close\r\n\r\n"+strings.Repeat("b", 1<<20))
	if resp.StatusCode != 200 || body != "read 1048576" {
		t.Errorf("a request just within the limits: %d %q", resp.StatusCode, body)
	}
	stillServes(t, s, "oversized requests")
}

// TestEndlessRequestLineOnAKeptAliveConnection: a request line past what net/http reads is
// told 414 on the second request of a connection too, while an oversized header after a
// served request still gets 431.
func TestEndlessRequestLineOnAKeptAliveConnection(t *testing.T) {
	s := startServer(t, "testdata/hostile.py")
	for _, c := range []struct {
		name, second string
		want         int
	}{
		{"endless request line", "GET /" + strings.Repeat("a", 1<<20), 414},
		{"endless header field", "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("v", 1<<20), 431},
	} {
		conn := dial(t, s)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(conn)
		_, _ = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: first request: %v %v", c.name, resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		go func() { _, _ = io.WriteString(conn, c.second) }()
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: no response to the second request: %v", c.name, err)
		}
		if resp.StatusCode != c.want {
			t.Errorf("%s on a kept-alive connection: %d, want %d", c.name, resp.StatusCode, c.want)
		}
		conn.Close()
	}
	stillServes(t, s, "endless heads on kept-alive connections")
}

// TestSlowloris: hundreds of connections that never finish their request head hold no
// request thread; one that stalls past --header-timeout gets 408 and is closed.
func TestSlowloris(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--threads", "2", "--header-timeout", "2s")
	for i := 0; i < 300; i++ {
		conn := dial(t, s)
		if _, err := io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
	}
	stillServes(t, s, "300 unfinished request heads")
	wantHeadTimeout(t, s, "/hello", "")
}

// TestSlowUploads: 2 × threads clients trickling a body (a byte every 500 ms) hold no request
// thread: bodies are buffered by Go before a thread is taken. A slow but steady upload
// completes (the body timeout is idle time, not total); a stalled one gets 408.
func TestSlowUploads(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--threads", "2", "--body-timeout", "1500ms")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i := 0; i < 4; i++ {
		conn := dial(t, s)
		_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(500 * time.Millisecond):
				}
				if _, err := conn.Write([]byte{'u'}); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(1200 * time.Millisecond) // every slow upload has started
	stillServes(t, s, "4 slow uploads on 2 threads")

	// Steady: 12 bytes, one every 500 ms (6 s in all, over four times the body timeout).
	conn := dial(t, s)
	_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n")
	for j := 0; j < 12; j++ {
		time.Sleep(500 * time.Millisecond)
		_, _ = conn.Write([]byte{'s'})
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a slow but steady upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "read 12" {
		t.Errorf("a slow but steady upload: %d %q", resp.StatusCode, body)
	}

	// Stalled: half the body, then nothing.
	resp, body2, closed := exchange(t, s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf!")
	if resp.StatusCode != http.StatusRequestTimeout || !closed {
		t.Errorf("a stalled upload: %d %q (closed %v), want 408 and close", resp.StatusCode, body2, closed)
	}
	waitForLog(t, s, "the client sent no body byte within --body-timeout")
}

// slowReader asks for path on a connection with a tiny receive buffer and never reads the
// response, so the server's writes block once the socket buffers are full.
func slowReader(t *testing.T, s *server, path string) {
	t.Helper()
	conn := tinyWindowConn(t, s)
	_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
}

// TestSlowReaders: 2 × threads clients that request a large response and never read it. A
// buffered (list) body gives its request thread back before it is written; a streamed one
// goes through --stream-buffer, and what does not fit there keeps the app waiting, bounded by
// --write-timeout, after which the connection is dropped (stream_test.go has the slow but
// reading clients).
func TestSlowReaders(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--threads", "2", "--write-timeout", "2s")
	const size = 16 << 20
	for i := 0; i < 4; i++ {
		slowReader(t, s, "/list?n="+strconv.Itoa(size))
	}
	time.Sleep(2 * time.Second) // the responses are built and their writes blocked
	stillServes(t, s, "4 slow readers of a list body on 2 threads")

	for i := 0; i < 4; i++ {
		slowReader(t, s, "/stream?n="+strconv.Itoa(size))
	}
	// Nobody reads: the write timeout (2 s) drops the connections.
	waitForLog(t, s, "response write timed out")
	time.Sleep(3 * time.Second)
	stillServes(t, s, "4 slow readers of a streamed body on 2 threads, after --write-timeout")
}

// raiseFileLimit lifts this process's open-file limit to its hard limit (the server, a Go
// program, does the same for itself at start).
func raiseFileLimit(t *testing.T, want uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < want {
		lim.Cur = min(lim.Max, want)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < want {
		t.Skipf("open-file limit %d < %d; raise it (ulimit -n) to run this test", lim.Cur, want)
	}
}

// TestIdleConnections: 2,000 connections that say nothing and 200 idle keep-alive ones cost
// the server goroutines, not request threads.
func TestIdleConnections(t *testing.T) {
	raiseFileLimit(t, 5000)
	s := startServer(t, "testdata/hostile.py", "--threads", "2")
	for i := 0; i < 2000; i++ {
		dial(t, s)
	}
	for i := 0; i < 200; i++ {
		conn := dial(t, s)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("keep-alive request %d: %v %v", i, resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	stillServes(t, s, "2,200 idle connections")
}

// TestHugeUpload: a 1 GiB upload the app never reads, sent as fast as the client can: refused
// at once by its Content-Length, or cut off at --max-body-size when chunked; the server never
// holds more than --body-memory of it in memory (the rest is spooled to disk).
func TestHugeUpload(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--max-body-size", "64MiB")
	upload := func(chunked bool) int {
		conn := dial(t, s)
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		head := "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
		if chunked {
			head = "POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		}
		go func() {
			if _, err := io.WriteString(conn, head); err != nil {
				return
			}
			block := bytes.Repeat([]byte("g"), 1<<20)
			if chunked {
				block = append(append([]byte("100000\r\n"), block...), "\r\n"...)
			}
			for i := 0; i < 1024; i++ {
				if _, err := conn.Write(block); err != nil {
					return // the server refused and closed
				}
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("1 GiB upload (chunked %v): %v", chunked, err)
		}
		return resp.StatusCode
	}
	if got := upload(false); got != 413 {
		t.Errorf("1 GiB by Content-Length: %d, want 413", got)
	}
	if got := upload(true); got != 413 {
		t.Errorf("1 GiB chunked: %d, want 413 at --max-body-size", got)
	}
	if hwm := peakRSS(t, s); hwm > 256<<20 {
		t.Errorf("the server's memory peaked at %d MiB during 1 GiB uploads", hwm>>20)
	}
	stillServes(t, s, "two 1 GiB uploads")
}

// peakRSS reads the server process's peak resident memory (VmHWM) from /proc.
func peakRSS(t *testing.T, s *server) int64 {
	t.Helper()
	hwm, ok := procStatus(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid), "VmHWM")
	if !ok {
		t.Fatalf("no VmHWM in /proc/%d/status", s.cmd.Process.Pid)
	}
	kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(hwm, "kB")), 10, 64)
	return kb << 10
}
