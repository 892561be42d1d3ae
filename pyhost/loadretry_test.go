package pyhost_test

// An app that cannot load is retried: a mount answers 503 with Retry-After while its import
// fails and serves once the files are fixed; under --processes, the supervisor gives up after
// --boot-attempts failed starts in a row and exits 3.

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The mount's import fails (its own helper module imported fine first): 503 with Retry-After,
// not one import per request; once the app and its helper are fixed, a later try imports both
// afresh and the mount serves, without a restart.
func TestMountLoadIsRetried(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	copyTestdata(t, "retry_import/app_broken.py", app)
	copyTestdata(t, "retry_import/helper_v1.py", filepath.Join(dir, "retry_helper.py"))
	s := startServer(t, "testdata/hello.py", "--mount", "/b="+app+",group=b")
	for i := 0; i < 3; i++ {
		resp, body := s.get(t, "/b/")
		if resp.StatusCode != 503 {
			t.Fatalf("GET /b/ with a broken app: %d %q, want 503\n%s", resp.StatusCode, body, s.Log)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
			t.Fatalf("503 with Retry-After %q, want a number of seconds ≥ 1",
				resp.Header.Get("Retry-After"))
		}
	}
	if n := countLines(s.Log.String(), "app.py is broken on purpose"); n != 1 {
		t.Errorf("the import ran %d times for 3 quick requests, want once (the back-off)\n%s",
			n, s.Log)
	}
	if resp, _ := s.get(t, "/"); resp.StatusCode != 200 {
		t.Errorf("the root mount answered %d while /b was broken", resp.StatusCode)
	}
	copyTestdata(t, "retry_import/helper_v2.py", filepath.Join(dir, "retry_helper.py"))
	copyTestdata(t, "retry_import/app_fixed.py", app)
	deadline := time.Now().Add(60 * time.Second) // the back-off is at most 30 s
	for {
		resp, body := s.get(t, "/b/")
		if resp.StatusCode == 200 {
			if string(body) != "helper says two, fixed\n" {
				t.Fatalf("fixed app answered %q: the retry kept the helper module the failed "+
					"import left in sys.modules", body)
			}
			break
		}
		if resp.StatusCode != 503 || time.Now().After(deadline) {
			t.Fatalf("GET /b/ after the fix: %d %q\n%s", resp.StatusCode, body, s.Log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitForLog(t, s, `msg="the WSGI application loaded after failed tries"`)
}

// --processes with an app that never loads: after --boot-attempts failed starts the
// supervisor stops retrying, says why and exits 3 (it retried for ever before).
func TestProcessesGiveUpAfterBootAttempts(t *testing.T) {
	p := startProcess(t, "testdata/broken_import.py", "--processes", "2", "--boot-attempts", "2",
		"--listen", "127.0.0.1:0")
	err := p.waitExit() // two tries 1 s apart; 60 s is generous
	out := p.Log.String()
	if code := exitCode(err); code != 3 {
		t.Errorf("supervisor exited %d, want 3\n%s", code, out)
	}
	if !strings.Contains(out, `msg="worker could not start after --boot-attempts tries in a row; giving up`) ||
		!strings.Contains(out, `error="the WSGI application failed to load: ModuleNotFoundError`) {
		t.Errorf("the supervisor did not say it gave up, and why\n%s", out)
	}
	if countLines(out, `msg="stopped: workers could not start (see above)"`) != 1 {
		t.Errorf("no final line naming the exit\n%s", out)
	}
}
