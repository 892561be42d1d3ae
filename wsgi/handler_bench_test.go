package wsgi

// Benchmarks of the in-process hot path — environ packing, the one cgo call, the app, header
// writing — with no sockets, so changes to it can be measured without the kernel's noise:
//
//	go test ./wsgi -run '^$' -bench . -benchmem

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
)

func benchHandler(b testing.TB, script string) *Handler {
	reg := testRegistry(b)
	abs, _ := filepath.Abs(filepath.Join("..", "testdata", script))
	return &Handler{
		Threads: gil.NewLimiter(8),
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Load: func() (*subinterp.App, error) {
			g, err := reg.Group(subinterp.Global)
			if err != nil {
				return nil, err
			}
			return reg.Load(g, cgo.AppSpec{Target: abs})
		},
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark measures pyhost.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// benchServe serves one hello request through h, unmeasured, then b.N more: the loop every
// serial hello benchmark shares, so their figures compare.
func benchServe(b *testing.B, h *Handler) {
	req := httptest.NewRequest("GET", "/hello?x=1", nil)
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkHello(b *testing.B) { benchServe(b, benchHandler(b, "hello.py")) }

// BenchmarkHelloRequestTimeout is BenchmarkHello with --request-timeout on: the cost of arming
// and stopping a deadline per request.
func BenchmarkHelloRequestTimeout(b *testing.B) {
	h := benchHandler(b, "hello.py")
	h.Limits.RequestTimeout = time.Minute
	benchServe(b, h)
}

func BenchmarkHelloParallel(b *testing.B) {
	h := benchHandler(b, "hello.py")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/hello?x=1", nil)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkHelloThreadTable is BenchmarkHello with the live thread view on (--metrics-listen):
// the cost of recording each request's start and end, its watch included.
func BenchmarkHelloThreadTable(b *testing.B) {
	h := benchHandler(b, "hello.py")
	h.Table = NewThreadTable(h.Threads.Threads())
	benchServe(b, h)
}
