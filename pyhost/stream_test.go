package pyhost_test

// Streamed responses (generators, write(), wsgi.file_wrapper) against clients that read
// slowly, promptly, or not at all: the app's request thread must not wait for a slow reader
// (--stream-buffer), a prompt reader must get each chunk at once, a reader that stops must
// stop the app at the buffer limit, and one that leaves must end the app's iteration.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitForFile waits (limit at most) for path to exist and returns its content.
func waitForFile(t *testing.T, path string, limit time.Duration, what string) string {
	t.Helper()
	var content []byte
	if !eventually(limit, func() bool {
		b, err := os.ReadFile(path)
		content = b
		return err == nil
	}) {
		t.Fatalf("%s: %s never appeared within %s", what, filepath.Base(path), limit)
	}
	return string(content)
}

// slowRead reads conn 4 KiB at a time, 10 times a second (about 40 KB/s), counting into got,
// until ctx ends or the connection does.
func slowRead(ctx context.Context, conn net.Conn, got *atomic.Int64) {
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := conn.Read(buf)
		got.Add(int64(n))
		if err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// 2 × --threads clients read a multi-MB streamed response at ~40 KB/s. Each app's part must
// end (its generator runs to its end) while its client is still reading, and a normal
// request must be answered meanwhile: the slow readers hold goroutines and buffers, not the
// request threads. Without the buffer all threads wait on the slow sockets for minutes.
func TestStreamSlowReadersFreeThreads(t *testing.T) {
	const size = 8 << 20 // 200 s at 40 KB/s
	for _, kind := range []string{"generator", "file_wrapper"} {
		t.Run(kind, func(t *testing.T) {
			s := startServer(t, "testdata/streaming.py", "--threads", "2")
			file := filepath.Join(t.TempDir(), "big")
			writeFile(t, file, make([]byte, size))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got [4]atomic.Int64
			dirs := make([]string, len(got))
			for i := range got {
				dirs[i] = t.TempDir()
				target := fmt.Sprintf("/count?n=%d&dir=%s", size, url.QueryEscape(dirs[i]))
				if kind == "file_wrapper" {
					target = "/file?name=" + url.QueryEscape(file)
				}
				conn := tinyWindowConn(t, s)
				if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				go slowRead(ctx, conn, &got[i])
			}
			time.Sleep(time.Second) // the four requests reach the server first
			// A bound to detect the threads being held, not a timing: without the buffer the
			// request waits for a slow reader to finish (minutes).
			resp, err := freshClient().Get(s.URL + "/hello")
			if err != nil {
				t.Fatalf("a normal request behind 4 slow readers of a streamed %s on 2 threads "+
					"was not answered: %v", kind, err)
			}
			body, _ := readAll(resp)
			if resp.StatusCode != 200 || string(body) != "Hello, World!\n" {
				t.Fatalf("hello: %d %q", resp.StatusCode, body)
			}
			if kind == "generator" {
				for _, d := range dirs {
					if n := waitForFile(t, filepath.Join(d, "done"), 20*time.Second,
						"a generator behind a slow reader"); n != strconv.Itoa(size) {
						t.Fatalf("generator ended after %s bytes, want %d", n, size)
					}
				}
			}
			for i := range got {
				if n := got[i].Load(); n >= size {
					t.Fatalf("slow reader %d already read its whole response (%d bytes): the "+
						"test did not hold the response back", i, n)
				}
			}
		})
	}
}

// A chunk the app yields (or write()s) reaches a client that reads promptly before the app
// produces the next one: the app waits for a file that the test creates only once it has read
// the first event. A buffer that held chunks back until it filled, or until the next chunk,
// would leave both waiting until the app gives up.
func TestStreamChunksReachPromptClient(t *testing.T) {
	s := startServer(t, "testdata/streaming.py", "--threads", "1")
	for _, via := range []string{"generator", "write"} {
		t.Run(via, func(t *testing.T) {
			dir := t.TempDir()
			conn := dial(t, s)
			_ = conn.SetDeadline(time.Now().Add(25 * time.Second))
			target := "/sse?via=" + via + "&dir=" + url.QueryEscape(dir)
			if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no response head before the app's second event: %v", err)
			}
			for _, want := range []string{"data: first\n\n", "data: second\n\n"} {
				b := make([]byte, len(want))
				if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != want {
					t.Fatalf("waiting for %q: got %q, %v\nserver log:\n%s", want, b, err, s.Log)
				}
				if want == "data: first\n\n" {
					writeFile(t, filepath.Join(dir, "go"), "")
				}
			}
		})
	}
}

// With a small --stream-buffer, an app streaming to a client that reads nothing stops at the
// buffer (plus what the sockets hold), with the part beyond --stream-buffer-memory in an
// unlinked temporary file. Once the client reads, every byte arrives, in order, and the access
// log records the whole response.
func TestStreamBufferBackpressure(t *testing.T) {
	const (
		size   = 64 << 20
		buffer = 512 << 10
		// The server's socket send buffer and net/http's buffers come on top of the spool
		// (measured: 2.8 MB with no buffer at all on Linux loopback).
		slack = 4 << 20
	)
	accessLog := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/streaming.py", "--threads", "1", "--stream-buffer", "512KiB",
		"--stream-buffer-memory", "64KiB", "--access-log", accessLog)
	dir := t.TempDir()
	conn := tinyWindowConn(t, s)
	target := fmt.Sprintf("/count?n=%d&chunk=16384&dir=%s", size, url.QueryEscape(dir))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Wait for the app to stop advancing (a second without progress), then see how far it got.
	progress := func() int64 {
		b, _ := os.ReadFile(filepath.Join(dir, "progress"))
		n, _ := strconv.ParseInt(string(b), 10, 64)
		return n
	}
	var last int64 = -1
	for end := time.Now().Add(30 * time.Second); ; {
		time.Sleep(time.Second)
		n := progress()
		if n == last && n > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the app never stopped while its client read nothing (at %d of %d bytes)", n, size)
		}
		last = n
	}
	t.Logf("the app stopped at %d bytes (buffer %d)", last, buffer)
	if last > buffer+slack {
		t.Fatalf("the app wrote %d bytes to a client that reads nothing; --stream-buffer %d "+
			"(+%d for sockets) should have stopped it", last, buffer, slack)
	}
	// The app waits because the buffer is full, so all but its first 64K is in the file.
	if !holdsDeletedTempFile(t, s.cmd.Process.Pid) {
		t.Errorf("no unlinked pyhost-response temporary file is open while the buffer is full")
	}

	// Now read: slowly at first (the buffer drains and fills again), then at full speed.
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	buf := make([]byte, 256<<10)
	for i := 0; ; i++ {
		n, err := resp.Body.Read(buf)
		for j := 0; j < n; j++ {
			if buf[j] != byte((off+int64(j))%251) {
				t.Fatalf("byte %d is %d, want %d: the stream came out of order", off+int64(j),
					buf[j], (off+int64(j))%251)
			}
		}
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", off, err)
		}
		if i < 40 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if off != size {
		t.Fatalf("read %d bytes, want %d", off, size)
	}
	waitForFile(t, filepath.Join(dir, "closed"), 10*time.Second, "close() after the stream")
	e := readAccessLog(t, accessLog, 1, false)[0]
	if e.Status != 200 || e.Bytes != size {
		t.Fatalf("access log: status %d, %d bytes; want 200, %d", e.Status, e.Bytes, size)
	}
}

// holdsDeletedTempFile reports whether process pid has an unlinked pyhost-response file open.
func holdsDeletedTempFile(t *testing.T, pid int) bool {
	links, err := fdLinks(pid)
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, link := range links {
		if strings.Contains(link, "pyhost-response-") && strings.HasSuffix(link, "(deleted)") {
			return true
		}
	}
	return false
}

// A client that leaves in the middle of an endless stream ends the app's iteration: its
// next write fails and close() is called, and its request thread serves others again.
func TestStreamClientGoneClosesIterable(t *testing.T) {
	for _, buffer := range []string{"16MiB", "0"} {
		t.Run("stream-buffer="+buffer, func(t *testing.T) {
			s := startServer(t, "testdata/streaming.py", "--threads", "1", "--stream-buffer", buffer)
			dir := t.TempDir()
			conn := dial(t, s)
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			target := "/count?n=-1&dir=" + url.QueryEscape(dir)
			if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(conn, make([]byte, 256<<10)); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			waitForFile(t, filepath.Join(dir, "closed"), 10*time.Second,
				"the app's close() after its client left")
			stillServes(t, s, "a client that left an endless stream")
		})
	}
}
