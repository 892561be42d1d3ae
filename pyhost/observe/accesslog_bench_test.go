package observe

import (
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/wsgi/request"
)

// The access log's own cost per request: building a line (each format), and building and
// appending it to a file (one write(2) each). Allocations must stay at 0.

func benchFinished() *Finished {
	r := httptest.NewRequest("GET", "/hello/world?x=1", nil)
	r.Header.Set("User-Agent", "wrk/4.2.0 (benchmark)")
	r.Header.Set("Referer", "http://127.0.0.1:8000/")
	return &Finished{Request: r, Start: time.Now(), Duration: 123 * time.Microsecond,
		Status: 200, Bytes: 14, WSGI: request.Record{RequestID: "1d9a2c1a-123456", Group: "%{GLOBAL}",
			Interp: 0, GILWait: 2 * time.Microsecond, Outcome: "ok"}}
}

func benchAccessLog(b *testing.B, format string, w io.Writer) {
	al := &AccessLog{w: w, json: format == config.LogFormatJSON, processGroup: "site", pid: 4242}
	f := benchFinished()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		al.Observe(f)
	}
}

func BenchmarkAccessLogCombinedDiscard(b *testing.B) {
	benchAccessLog(b, config.AccessLogCombined, io.Discard)
}

func BenchmarkAccessLogJSONDiscard(b *testing.B) { benchAccessLog(b, config.LogFormatJSON, io.Discard) }

func BenchmarkAccessLogCombinedFile(b *testing.B) {
	lf, err := openLogFile(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer lf.f.Close()
	benchAccessLog(b, config.AccessLogCombined, lf)
}

// TestAccessLogLineAllocatesNothing keeps the hot path free of allocations once the pool is
// warm.
func TestAccessLogLineAllocatesNothing(t *testing.T) {
	for _, format := range []string{config.AccessLogCombined, config.LogFormatJSON} {
		al := &AccessLog{w: io.Discard, json: format == config.LogFormatJSON, pid: 1}
		f := benchFinished()
		al.Observe(f)
		if n := testing.AllocsPerRun(200, func() { al.Observe(f) }); n > 0 {
			t.Errorf("%s: %.1f allocations per line, want 0", format, n)
		}
	}
}
