package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Go test server counts what arrives; the generator's counts, errors and latencies must
// agree with it.
func TestLoadClosedLoopAgainstGoServer(t *testing.T) {
	var hits, posts atomic.Int64
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			if string(b) == "payload" {
				posts.Add(1)
			}
		}
		switch r.URL.Path {
		case "/fail":
			http.Error(w, "boom", 500)
		case "/chunked":
			w.Write([]byte(strings.Repeat("x", 5000)))
			w.(http.Flusher).Flush()
			w.Write([]byte("end"))
		case "/slow":
			time.Sleep(20 * time.Millisecond)
			w.Write([]byte("ok"))
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	l := &load{addr: addr, method: "POST", body: []byte("payload"), concurrency: 4, requests: 400,
		timeout: 5 * time.Second,
		paths:   []weightedPath{{"/ok", 2}, {"/chunked", 1}, {"/fail", 1}}}
	res := l.run(context.Background(), nil)
	if res.answered() != 400 || hits.Load() != 400 || posts.Load() != 400 {
		t.Fatalf("answered %d, server saw %d (%d POST bodies intact); want 400", res.answered(), hits.Load(), posts.Load())
	}
	if res.errors[errStatus5] != 100 || res.completed != 300 {
		t.Errorf("5xx %d, ok %d; want 100 and 300 (weights 2:1:1)", res.errors[errStatus5], res.completed)
	}
	mu.Lock()
	got := paths["/chunked"]
	mu.Unlock()
	if got != 100 {
		t.Errorf("/chunked got %d requests, want 100", got)
	}

	// Open loop above what the server can do (4 connections × 50/s = 200/s, asked for 1000/s):
	// latency is counted from when each request was due, so it grows as the backlog grows.
	o := &load{addr: addr, method: "GET", concurrency: 4, rate: 1000, requests: 120, timeout: 5 * time.Second,
		paths: []weightedPath{{"/slow", 1}}}
	res = o.run(context.Background(), nil)
	if res.answered() != 120 {
		t.Fatalf("open loop answered %d, want 120", res.answered())
	}
	if p50, max := res.hist.quantile(0.5), res.hist.quantile(1); max < 3*p50/2 || p50 < 100*time.Millisecond {
		t.Errorf("open loop above capacity: p50 %v, max %v; want latency growing with the backlog", p50, max)
	}

	// A dead address: connect errors, not a hang.
	srv.Close()
	d := &load{addr: addr, method: "GET", concurrency: 2, requests: 10, timeout: time.Second,
		paths: []weightedPath{{"/", 1}}}
	res = d.run(context.Background(), nil)
	if res.errors[errConnect] != 10 {
		t.Errorf("errors %v, want 10 connect errors", res.errors)
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]weightedPath{"/": {"/", 1}, "3:/api?a=b": {"/api?a=b", 3}, "/a:b": {"/a:b", 1}} {
		if got, err := parsePath(in); err != nil || got != want {
			t.Errorf("parsePath(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"api", "0:/x", "x:/y"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("parsePath(%q): no error", bad)
		}
	}
}
