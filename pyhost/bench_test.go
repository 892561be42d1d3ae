package pyhost_test

// pyhost bench, end to end: the real binary benchmarks itself on a small matrix (a few
// hundred requests per cell) and its JSON, table and HTML report (opened in headless
// Chromium, screenshot decoded) are checked. Nothing here asserts a speed.

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

type benchReport struct {
	Environment struct {
		Cores  int `json:"cores"`
		Builds []struct {
			Label        string `json:"label"`
			Python       string `json:"python"`
			FreeThreaded bool   `json:"free_threaded"`
		} `json:"builds"`
	} `json:"environment"`
	Cells []struct {
		Cell   string `json:"cell"`
		Mode   string `json:"mode"`
		Series string `json:"series"`
		Failed string `json:"failed"`
		Median *struct {
			Requests   uint64            `json:"requests"`
			OK         uint64            `json:"ok"`
			Errors     map[string]uint64 `json:"errors"`
			Seconds    float64           `json:"seconds"`
			RPS        float64           `json:"requests_per_second"`
			TargetRate float64           `json:"target_rate"`
			Latency    struct {
				P50  float64 `json:"p50"`
				P90  float64 `json:"p90"`
				P99  float64 `json:"p99"`
				P999 float64 `json:"p99_9"`
				Max  float64 `json:"max"`
			} `json:"latency_ms"`
			CPUPerReq    float64 `json:"server_cpu_per_request_us"`
			PeakRSS      int64   `json:"peak_rss_bytes"`
			SteadyRSS    int64   `json:"steady_rss_bytes"`
			GILWaitMean  float64 `json:"gil_wait_mean_us"`
			GILReenabled *bool   `json:"gil_reenabled"`
		} `json:"median"`
	} `json:"cells"`
}

// runBench runs pyhost bench APP FLAGS (serve's --allow-root after "--" when root) and reads
// its JSON report.
func runBench(t *testing.T, app string, flags ...string) (ran, benchReport) {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), "bench.json")
	args := append([]string{"bench", app, "--json", jsonFile}, flags...)
	args = append(append(args, "--"), asRoot()...)
	if !linked.System && strings.Contains(app, "flask") {
		args = append(args, "--python-path", debianDistPackages)
	}
	r := runPyhost(t, apart, args...)
	var rep benchReport
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatalf("pyhost bench wrote no JSON (exit %d): %v\n%s%s", r.Code, err, r.Stdout, r.Stderr)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("bench JSON: %v\n%s", err, b)
	}
	return r, rep
}

// expectedModes is the default matrix's modes for the linked build.
func expectedModes() []string {
	switch {
	case linked.FreeThreaded:
		return []string{"shared", "free"}
	case linked.Minor >= 12:
		return []string{"shared", "own", "processes"}
	}
	return []string{"shared", "processes"}
}

func TestBenchMatrixJSONAndHTML(t *testing.T) {
	html := filepath.Join(t.TempDir(), "bench.html")
	r, rep := runBench(t, "testdata/hello.py", "--requests", "300", "--warmup", "0s",
		"--concurrency", "4", "--parallelism", "1,2", "--html", html)
	if r.Code != 0 {
		t.Fatalf("exit %d:\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	modes := expectedModes()
	if len(rep.Cells) != 2*len(modes) {
		t.Fatalf("%d cells, want %d (modes %v × parallelism 1, 2):\n%s", len(rep.Cells), 2*len(modes), modes, r.Stdout)
	}
	for i, c := range rep.Cells {
		if want := modes[i/2]; c.Mode != want {
			t.Errorf("cell %d is %s, want mode %s", i, c.Cell, want)
		}
		m := c.Median
		if c.Failed != "" || m == nil {
			t.Errorf("%s failed: %s", c.Cell, c.Failed)
			continue
		}
		l := m.Latency
		if m.Requests != 300 || m.OK != 300 || len(m.Errors) != 0 || m.RPS <= 0 ||
			!(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) ||
			m.CPUPerReq <= 0 || m.SteadyRSS < 1<<20 || m.PeakRSS < m.SteadyRSS {
			t.Errorf("%s: numbers out of shape: %+v", c.Cell, *m)
		}
		if (m.GILReenabled != nil) != (c.Mode == "free") {
			t.Errorf("%s: gil_reenabled %v; want it reported in --gil free only", c.Cell, m.GILReenabled)
		} else if m.GILReenabled != nil && *m.GILReenabled {
			t.Errorf("%s: the GIL was re-enabled serving hello.py", c.Cell)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+\*\s+3\.\d+t? \w+×\d`).MatchString(r.Stdout) {
		t.Errorf("the table marks no best cell with *:\n%s", r.Stdout)
	}
	checkScreenshot(t, html, modes)
}

// checkScreenshot opens the HTML report in headless Chromium and checks that each mode's
// series is drawn: its colour (which only points and lines have; legend swatches are
// translucent) on many pixels of the picture.
func checkScreenshot(t *testing.T, htmlFile string, modes []string) {
	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<script") || strings.Contains(string(page), "http://") && !strings.Contains(string(page), `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("the report is not self-contained (a script or a network address)")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium to look at the HTML report (scripts/deps.sh test installs it)")
	}
	legend := regexp.MustCompile(`<rect [^>]*fill="(#[0-9a-f]{6})" fill-opacity="0.55"/><text [^>]*>([^<]+)</text>`)
	colours := map[string]string{}
	for _, m := range legend.FindAllStringSubmatch(string(page), -1) {
		colours[m[2]] = m[1]
	}
	if len(colours) != len(modes) {
		t.Fatalf("legend has series %v, want one per mode %v", colours, modes)
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1200,1500",
		"file://"+htmlFile)
	cmd.WaitDelay = time.Second
	done := make(chan error, 1)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chromium did not finish within 60 s:\n%s", out)
	}
	f, ferr := os.Open(shot)
	if ferr != nil {
		t.Fatalf("chromium wrote no screenshot (%v, %v):\n%s", err, ferr, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	counts := colourCounts(img)
	for _, mode := range modes {
		for series, c := range colours {
			if strings.HasSuffix(series, " "+mode) && counts[c] < 200 {
				t.Errorf("series %q (%s) has %d pixels of its colour in the screenshot: not drawn", series, c, counts[c])
			}
		}
	}
}

func colourCounts(img image.Image) map[string]int {
	counts := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[fmt.Sprintf("#%02x%02x%02x", r>>8, g>>8, bl>>8)]++
		}
	}
	return counts
}

// An app that fails some requests is measured, its errors counted by kind; one that cannot
// load is a failed cell with the reason, and the run goes on to the next.
func TestBenchErrorsAndFailedCells(t *testing.T) {
	r, rep := runBench(t, "testdata/bench/flaky.py", "--modes", "shared", "--parallelism", "1",
		"--requests", "90", "--warmup", "0s", "--concurrency", "2")
	if len(rep.Cells) != 1 || rep.Cells[0].Median == nil {
		t.Fatalf("cells %+v\n%s%s", rep.Cells, r.Stdout, r.Stderr)
	}
	m := rep.Cells[0].Median
	if m.Requests != 90 || m.Errors["status 5xx"] != 30 || m.OK != 60 {
		t.Errorf("flaky.py: %d answered, %d ok, errors %v; want 90, 60 and 30 of status 5xx", m.Requests, m.OK, m.Errors)
	}
	if !strings.Contains(r.Stdout, "30 errors: status 5xx ×30") {
		t.Errorf("the table does not show the 30 errors:\n%s", r.Stdout)
	}

	r, rep = runBench(t, "testdata/broken_import.py", "--parallelism", "1", "--requests", "10", "--warmup", "0s")
	if r.Code != 1 || len(rep.Cells) != len(expectedModes()) {
		t.Fatalf("exit %d, %d cells; want 1 and a cell per mode:\n%s%s", r.Code, len(rep.Cells), r.Stdout, r.Stderr)
	}
	for _, c := range rep.Cells {
		if !strings.Contains(c.Failed, "this_module_does_not_exist_anywhere") {
			t.Errorf("%s: failed %q; want the import error", c.Cell, c.Failed)
		}
	}
}

// Open loop above capacity: cpu.py (about 1 ms of Python per request, one thread) asked for
// 20000 req/s. All 300 requests are sent; the latency, timed from when each was due, grows
// with the backlog (the last one waited about the whole run) instead of the generator quietly
// sending fewer.
func TestBenchOpenLoopShowsBacklog(t *testing.T) {
	r, rep := runBench(t, "testdata/cpu.py", "--modes", "shared", "--parallelism", "1",
		"--rate", "20000", "--requests", "300", "--concurrency", "8", "--warmup", "0s")
	if len(rep.Cells) != 1 || rep.Cells[0].Median == nil {
		t.Fatalf("cells %+v\n%s%s", rep.Cells, r.Stdout, r.Stderr)
	}
	m := rep.Cells[0].Median
	dueMs := 300.0 / 20000 * 1000
	if m.Requests != 300 || m.TargetRate != 20000 {
		t.Fatalf("answered %d at target %v; want all 300 at 20000", m.Requests, m.TargetRate)
	}
	if m.Latency.Max < 0.8*(m.Seconds*1000-dueMs) || m.Latency.Max < 2*m.Latency.P50/1.5 {
		t.Errorf("max latency %.1f ms, p50 %.1f ms over a %.0f ms run: not timed from the schedule",
			m.Latency.Max, m.Latency.P50, m.Seconds*1000)
	}
	if !strings.Contains(r.Stdout, "below the 20000 req/s asked") {
		t.Errorf("the table does not say the rate was not reached:\n%s", r.Stdout)
	}
}
