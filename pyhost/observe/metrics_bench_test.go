package observe

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/wsgi/request"
)

// The metrics' cost per request: what the Observer adds to each request (the observe
// wrapper's own cost is the access log's too, and is measured with the handler).
func BenchmarkMetricsObserve(b *testing.B) {
	m := NewMetrics(MetricsOptions{Threads: gil.NewLimiter(8)})
	f := &Finished{Request: httptest.NewRequest("GET", "/", nil), Duration: 120 * time.Microsecond,
		Status: 200, Bytes: 14, WSGI: request.Record{Group: config.AppGroupGlobal, Interp: 0,
			QueueWait: 2 * time.Microsecond, GILWait: 3 * time.Microsecond}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(f)
		}
	})
}
