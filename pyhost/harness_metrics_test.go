package pyhost_test

// What the metrics listener (--metrics-listen) serves, read as a client does: the exposition,
// linted and summed by labels, /readyz, the live thread view of /debug/threads, and `pyhost
// top` reading them.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var metricsListenRE = regexp.MustCompile(`msg="serving metrics".* metrics=http://(127\.0\.0\.1:\d+)/metrics`)

// metricsAddr waits (30 s at most) for the "serving metrics" line of a server started with
// --metrics-listen 127.0.0.1:0 and returns the address it serves on.
func metricsAddr(t *testing.T, p hasLog) string {
	t.Helper()
	var m []string
	if !eventually(30*time.Second, func() bool {
		m = metricsListenRE.FindStringSubmatch(p.log().String())
		return m != nil
	}) {
		t.Fatalf("the server never said where it serves metrics:\n%s", p.log())
	}
	return m[1]
}

// parseMetrics reads an exposition in the text format into its families by name.
func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// scrape fetches /metrics, fails the test on any problem promlint finds, and returns the
// families by name.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := getText(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", code, body)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("promlint could not read /metrics: %v\n%s", err, body)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := parseMetrics(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return mfs
}

// value sums the series of family name whose labels include match: a counter's or gauge's
// value, a histogram's sample count.
func value(mfs map[string]*dto.MetricFamily, name string, match ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	sum := 0.0
	for _, m := range mf.Metric {
		if !hasLabels(m, match...) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// hasLabels reports whether m has every label name=value of the pairs in match.
func hasLabels(m *dto.Metric, match ...string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == match[i] && l.GetValue() == match[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// hasAnySeries reports whether a series of mf has the labels of match.
func hasAnySeries(mf *dto.MetricFamily, match ...string) bool {
	for _, m := range mf.Metric {
		if hasLabels(m, match...) {
			return true
		}
	}
	return false
}

// waitValue scrapes until the value is want (a request is counted as its response ends,
// which the client may see first), for 20 s at most, and returns the last scrape.
func waitValue(t *testing.T, base string, log *logBuffer, want float64, name string,
	match ...string) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mfs := scrape(t, base)
		got := value(mfs, name, match...)
		if got == want {
			return mfs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v\nserver log:\n%s", name, match, got, want, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReady waits (30 s at most) for /readyz to answer 200, once the apps have loaded.
func waitReady(t *testing.T, base string, p hasLog) {
	t.Helper()
	var code int
	var body string
	if !eventually(30*time.Second, func() bool {
		code, body = getText(t, base+"/readyz")
		return code == 200
	}) {
		t.Fatalf("/readyz still %d %q after the apps loaded\n%s", code, body, p.log())
	}
}

// promtoolPath finds Debian's promtool: on PATH, or where scripts/deps.sh unpacks it.
// make test (scripts/test.sh) sets PYHOST_REQUIRE_PROMTOOL, so there a missing promtool fails
// the test instead of skipping it.
func promtoolPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	const unpacked = "/var/cache/pyhost/promtool/usr/bin/promtool"
	if _, err := os.Stat(unpacked); err == nil {
		return unpacked
	}
	if os.Getenv("PYHOST_REQUIRE_PROMTOOL") != "" {
		t.Fatal("promtool not found (scripts/deps.sh test unpacks it into /var/cache/pyhost/promtool)")
	}
	t.Skip("promtool not found: run scripts/deps.sh test")
	return ""
}

// promtoolCheck runs `promtool check metrics` on an exposition: it must report nothing.
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	cmd := exec.Command(promtoolPath(t), "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// The JSON of /debug/threads, as a client reads it.
type threadsJSON struct {
	Time      time.Time `json:"time"`
	Processes []struct {
		PID          int    `json:"pid"`
		ProcessGroup string `json:"process_group"`
		Slot         int    `json:"worker"`
		State        string `json:"state"`
		Threads      int    `json:"threads"`
		Busy         int    `json:"busy"`
		Error        string `json:"error"`
		Requests     []struct {
			Thread           int     `json:"thread"`
			Method           string  `json:"method"`
			Path             string  `json:"path"`
			RequestID        string  `json:"request_id"`
			RunningSeconds   float64 `json:"running_seconds"`
			ApplicationGroup string  `json:"application_group"`
			Interpreter      int     `json:"interpreter"`
			Stack            string  `json:"stack"`
			StackError       string  `json:"stack_error"`
		} `json:"requests"`
	} `json:"processes"`
}

// getThreads fetches /debug/threads?QUERY from the metrics address and decodes it; the
// client's bound (20s) only keeps a hung endpoint from hanging the test.
func getThreads(t *testing.T, addr, query string) (threadsJSON, string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get("http://" + addr + "/debug/threads?" + query)
	if err != nil {
		t.Fatalf("/debug/threads?%s: %v", query, err)
	}
	body, _ := readAll(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/threads?%s: %s: %s", query, resp.Status, body)
	}
	var v threadsJSON
	if !strings.Contains(query, "format=text") {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("/debug/threads?%s is not JSON: %v\n%s", query, err, body)
		}
	}
	return v, string(body)
}

// requestInApp starts GET path of testdata/threads.py in the background and returns the
// request id the app logged once inside it.
func requestInApp(t *testing.T, s *server, path string) string {
	t.Helper()
	return requestInAppAs(t, s, path, strings.SplitN(path, "?", 2)[0])
}

// requestInAppAs is requestInApp for an app mounted below a prefix: it logs pathInfo.
func requestInAppAs(t *testing.T, s *server, path, pathInfo string) string {
	t.Helper()
	go func() {
		if resp, err := client.Get(s.URL + path); err == nil {
			resp.Body.Close()
		}
	}()
	re := regexp.MustCompile(`threads.py: started ` + regexp.QuoteMeta(pathInfo) + ` id=([0-9a-f]+-[0-9]+)`)
	var m []string
	if !eventually(30*time.Second, func() bool {
		m = re.FindStringSubmatch(s.Log.String())
		return m != nil
	}) {
		t.Fatalf("the app never logged the start of %s:\n%s", path, s.Log)
	}
	return m[1]
}

// topOnce runs `pyhost top --once` against the metrics address and returns its frame; a
// failure fails the test.
func topOnce(t *testing.T, addr string) string {
	t.Helper()
	r := runPyhost(t, together, "top", "--once", "--metrics", addr, "--interval", "300ms")
	if r.Code != 0 {
		t.Fatalf("pyhost top --once: exit %d\n%s", r.Code, r.Out)
	}
	return r.Out
}
