package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
)

func TestRecycleWatchInterval(t *testing.T) {
	for _, c := range []struct {
		r    config.Recycling
		want time.Duration
	}{
		{config.Recycling{MemoryLimit: 1 << 30}, time.Second},
		{config.Recycling{CPUTimeLimit: 2 * time.Second, RestartInterval: time.Hour}, 200 * time.Millisecond},
		{config.Recycling{InactivityTimeout: 50 * time.Millisecond}, 10 * time.Millisecond},
	} {
		if got := (&recycleWatch{limits: c.r}).interval(); got != c.want {
			t.Errorf("interval for %+v = %s, want %s", c.r, got, c.want)
		}
	}
}

// The request path's share of recycling: a counted no-op handler against a bare one (run
// with -bench RequestCount; the difference is what each request pays).
func BenchmarkRequestCount(b *testing.B) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest("GET", "/", nil)
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			noop.ServeHTTP(nil, r)
		}
	})
	b.Run("counted", func(b *testing.B) {
		h := (&requestActivity{limit: 1 << 62, reached: make(chan struct{}, 1)}).wrap(noop)
		for b.Loop() {
			h.ServeHTTP(nil, r)
		}
	})
}
