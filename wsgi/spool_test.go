package wsgi

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// gatedWriter is a ResponseWriter whose writes wait until the test opens its gate: a client
// that reads nothing until told to.
type gatedWriter struct {
	hdr     http.Header
	gate    chan struct{}
	mu      sync.Mutex
	body    bytes.Buffer
	status  int
	flushes int
}

func (g *gatedWriter) Header() http.Header { return g.hdr }
func (g *gatedWriter) WriteHeader(code int) {
	g.mu.Lock()
	g.status = code
	g.mu.Unlock()
}
func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.body.Write(p)
}
func (g *gatedWriter) Flush() {
	g.mu.Lock()
	g.flushes++
	g.mu.Unlock()
}

// The spool holds at most its limit while the client reads nothing (the producer waits), and
// delivers every byte in order across memory, the temporary file and memory again; where no
// temporary file can be made, in memory alone.
func TestSpoolBoundedAndOrdered(t *testing.T) {
	t.Run("file", func(t *testing.T) { testSpool(t, t.TempDir()) })
	t.Run("no-file", func(t *testing.T) { testSpool(t, "/nonexistent/pyhost-test") })
}

func testSpool(t *testing.T, tempDir string) {
	w := &gatedWriter{hdr: http.Header{}, gate: make(chan struct{})}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	lim := request.Limits{StreamBuffer: 64 << 10, StreamBufferMemory: 8 << 10, BodyTempDir: tempDir}
	sp := newSpool(w, r, &lim, slog.New(slog.DiscardHandler))
	sp.sendHead([]byte("200 OK\x00Content-Type\x00x/y\x00"), -1)

	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i % 251)
	}
	produced := make(chan error, 1)
	go func() {
		for off := 0; off < len(want); {
			n := min(1+rand.IntN(20000), len(want)-off)
			if err := sp.write(want[off : off+n]); err != nil {
				produced <- err
				return
			}
			off += n
		}
		produced <- nil
	}()
	// The client reads nothing: the producer must stop with at most the limit held. (The
	// writer's first batch is taken out before its Write blocks, and still counts as held.)
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-produced:
		t.Fatalf("the producer finished (%v) while the client read nothing", err)
	default:
	}
	sp.mu.Lock()
	held := sp.held()
	sp.mu.Unlock()
	if held > lim.StreamBuffer {
		t.Fatalf("%d bytes held, limit %d", held, lim.StreamBuffer)
	}
	close(w.gate) // the client reads
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	if err := sp.finish(); err != nil {
		t.Fatal(err)
	}
	if w.status != 200 || w.hdr.Get("Content-Type") != "x/y" {
		t.Fatalf("head: %d %v", w.status, w.hdr)
	}
	if got := w.body.Bytes(); !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("body: %d bytes, first difference at %d (want %d)", len(got), i, len(want))
	}
	if w.flushes == 0 {
		t.Fatal("never flushed")
	}
}
