package observe

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pyhost/pyhost/gil"
)

// A nil *Metrics is the no-op: every method can be called and keeps nothing.
func TestNilMetricsKeepNothing(t *testing.T) {
	var m *Metrics
	m.Observe(benchFinished())
	m.Loaded("%{GLOBAL}", 2, gil.Shared)
	m.GILReport("%{GLOBAL}", true)
	if mfs, err := m.Gather(); mfs != nil || err != nil {
		t.Errorf("Gather = %v, %v; want nothing", mfs, err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/metrics answered %d without metrics, want 404", rec.Code)
	}
}

// The metrics count what their Observer sees and serve it.
func TestMetricsObserveAndServe(t *testing.T) {
	m := NewMetrics(MetricsOptions{ProcessGroup: "site", Threads: gil.NewLimiter(4)})
	m.Observe(benchFinished())
	m.Loaded("%{GLOBAL}", 2, gil.Shared)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`pyhost_requests_total{application_group="%{GLOBAL}",method="GET",process_group="site",status="2xx"} 1`,
		`pyhost_interpreters{application_group="%{GLOBAL}",gil_mode="shared",process_group="site"} 2`,
		`pyhost_request_threads{process_group="site"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "pyhost_gil_reenabled") {
		t.Error("pyhost_gil_reenabled kept although the process is not free-threaded")
	}
}

// The listener answers /healthz at once, and /readyz and the owner's paths once it serves.
func TestMetricsListenerServe(t *testing.T) {
	ml, err := ListenMetrics("127.0.0.1:0", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ml.Close()
	base := "http://" + ml.ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 503} {
		if code, _ := get(path); code != want {
			t.Errorf("before Serve: %s answered %d, want %d", path, code, want)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "m") })
	ctx, cancel := context.WithCancel(context.Background())
	ml.Serve(mux, ReadyUntil(ctx))
	if code, body := get("/metrics"); code != 200 || body != "m" {
		t.Errorf("/metrics answered %d %q, want the owner's handler", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz answered %d once serving, want 200", code)
	}
	cancel()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz answered %d %q after ctx ended, want 503 shutting down", code, body)
	}
}
