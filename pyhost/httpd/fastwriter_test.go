package httpd

import (
	"bufio"
	"io"
	"net/http"
	"testing"
)

// BenchmarkFastResponse: a hello response through the fast path's writer, as the WSGI
// handler writes it (three fields, the status, a 14-byte body), to a discarding buffer.
func BenchmarkFastResponse(b *testing.B) {
	fs := NewFastServer(&http.Server{}, nil)
	fc := &fastConn{fs: fs}
	bw := bufio.NewWriter(io.Discard)
	req := &http.Request{Method: "GET", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Host": {"example.test"}}}
	body := []byte("Hello, World!\n")
	b.ReportAllocs()
	for b.Loop() {
		w := newFastResponse(fc, req, bw)
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{"14"}
		h["X-Request-Id"] = []string{"0123abcd-1"}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		w.finish()
		_ = bw.Flush()
	}
}
