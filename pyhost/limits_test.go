package pyhost_test

// Request-body limits when the app reads the body from the connection itself
// (--stream-request-body).

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStreamRequestBody: with --stream-request-body the app reads the connection itself; the
// body limit still holds (refused up front by Content-Length, the app's read failing past it
// when chunked).
func TestStreamRequestBody(t *testing.T) {
	s := startServer(t, "testdata/hostile.py", "--stream-request-body", "--max-body-size", "64KiB")
	body := bytes.Repeat([]byte("s"), 60000)
	if resp, out := s.do(t, "POST", "/echo", bytes.NewReader(body)); resp.StatusCode != 200 || string(out) != "read 60000" {
		t.Errorf("streamed upload within the limit: %d %q", resp.StatusCode, out)
	}
	if resp, out := s.do(t, "POST", "/echo", chunkedReader{bytes.NewReader(body)}); resp.StatusCode != 200 || string(out) != "read 60000" {
		t.Errorf("streamed chunked upload within the limit: %d %q", resp.StatusCode, out)
	}
	resp, _, closed := exchange(t, s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !closed {
		t.Errorf("Content-Length over the limit: %d (closed %v), want 413", resp.StatusCode, closed)
	}
	// Past the limit the app's read raises; the request ends with an error response or a
	// dropped connection, never with the app having the whole body.
	conn := dial(t, s)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"11170\r\n"+strings.Repeat("s", 70000)+"\r\n0\r\n\r\n")
	if raw, _ := io.ReadAll(conn); strings.HasPrefix(string(raw), "HTTP/1.1 200") {
		t.Errorf("a chunked body over the limit was read whole by the app: %q", raw)
	}
	waitForLog(t, s, "request body over the limit while the app read it")
	if strings.Contains(s.Log.String(), "panic") {
		t.Errorf("log:\n%s", s.Log)
	}
	stillServes(t, s, "streamed uploads")
}
