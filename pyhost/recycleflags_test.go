package pyhost

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// mod_wsgi's recycling options carry over through import-apache to the same serve flags, in
// the same units (seconds become durations), and reach the group's configuration.
func TestImportApacheRecycling(t *testing.T) {
	conf, _ := apacheSample(t, "apache-daemon.conf", "site/wsgi.py", "site/static/")
	f, out, warn := importAndLoad(t, conf)
	if len(f.Groups) != 1 {
		t.Fatalf("groups: %+v\n%s", f.Groups, out)
	}
	want := Recycling{MaximumRequests: 1000, InactivityTimeout: 300 * time.Second,
		GracefulTimeout: 15 * time.Second, BootAttempts: defaultBootAttempts}
	if got := f.Groups[0].Config.Recycle; got != want {
		t.Errorf("the group's recycling: %+v, want %+v\n%s", got, want, out)
	}
	for _, name := range []string{"maximum-requests", "inactivity-timeout", "graceful-timeout"} {
		if strings.Contains(warn, name) {
			t.Errorf("import-apache left %s out:\n%s", name, warn)
		}
	}
}

// A config file's group with a recycling key but no processes is refused at that key's line.
func TestConfigRecyclingNeedsProcesses(t *testing.T) {
	_, err := parseServerFile("site.toml", []byte(`listen = ["127.0.0.1:0"]

[group.web]
threads = 4
memory-limit = "300MiB"

[[mount]]
prefix = "/"
app = "app.py"
process-group = "web"
`), LinkedBuild())
	if err == nil || !strings.Contains(err.Error(), ":5: group.web.memory-limit: "+
		"--memory-limit 300M: needs --processes") {
		t.Fatalf("err = %v, want the memory-limit line refused for lacking processes", err)
	}
}

func TestRecycleWatchInterval(t *testing.T) {
	for _, c := range []struct {
		r    Recycling
		want time.Duration
	}{
		{Recycling{MemoryLimit: 1 << 30}, time.Second},
		{Recycling{CPUTimeLimit: 2 * time.Second, RestartInterval: time.Hour}, 200 * time.Millisecond},
		{Recycling{InactivityTimeout: 50 * time.Millisecond}, 10 * time.Millisecond},
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
