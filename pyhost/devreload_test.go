package pyhost_test

// serve --reload: an edited file of the app (the script, a module it imports, a module in a
// folder created after the start) is served once saved; a syntax error leaves the old code
// serving and is logged; the next good edit is served.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// reloadWithin bounds the wait for an edit to be served (never a timing assertion: the
// reload usually takes well under a second).
const reloadWithin = 30 * time.Second

// reloadApp is the app's script: it answers with its version, the words of the modules it
// imports, and wsgi.multiprocess. "five---5" and "six----6" have the same length: Python's
// bytecode cache is keyed on the source's mtime in whole seconds and its size, so an edit of
// the same size within the same second is served only because --reload writes no bytecode.
func reloadApp(version string, imports ...string) string {
	var b strings.Builder
	words := []string{}
	for _, m := range imports {
		fmt.Fprintf(&b, "import %s\n", m)
		words = append(words, m+".WORD")
	}
	fmt.Fprintf(&b, `
def application(environ, start_response):
    words = " ".join([%s])
    body = "%s %%s mp=%%s" %% (words, environ["wsgi.multiprocess"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
`, strings.Join(words, ", "), version)
	return b.String()
}

// waitAnswer waits (reloadWithin at most) until GET url answers want.
func waitAnswer(t *testing.T, p hasLog, url, want string) {
	t.Helper()
	var last string
	if !eventually(reloadWithin, func() bool {
		_, last = getText(t, url)
		return last == want
	}) {
		t.Fatalf("never answered %q (last: %q); log:\n%s", want, last, p.log())
	}
}

func TestReloadServesEditsAndSurvivesSyntaxErrors(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	writeFile(t, filepath.Join(dir, "helper.py"), "WORD = 'alpha'\n")
	writeFile(t, app, reloadApp("one", "helper"))
	s := startServer(t, app, "--reload", "--threads", "2")
	waitForLog(t, s, "--reload: watching")
	waitAnswer(t, s, s.URL, "one alpha mp=False") // --reload alone: one process

	writeFile(t, app, reloadApp("two-2", "helper"))
	waitAnswer(t, s, s.URL, "two-2 alpha mp=False")

	// A syntax error: logged with its traceback, and the old code keeps serving.
	writeFile(t, app, reloadApp("three-3", "helper")+"def broken(:\n")
	waitForLogMatch(t, s, regexp.MustCompile(`changed code could not load`))
	if !strings.Contains(s.Log.String(), "SyntaxError") {
		t.Fatalf("the log does not show the SyntaxError:\n%s", s.Log)
	}
	if _, got := getText(t, s.URL); got != "two-2 alpha mp=False" {
		t.Fatalf("after a syntax error the old code should serve; got %q; log:\n%s", got, s.Log)
	}

	// The next good edit is served.
	writeFile(t, app, reloadApp("four--4", "helper"))
	waitAnswer(t, s, s.URL, "four--4 alpha mp=False")

	// A module the app imports.
	writeFile(t, filepath.Join(dir, "helper.py"), "WORD = 'beta-beta'\n")
	waitAnswer(t, s, s.URL, "four--4 beta-beta mp=False")

	// A module in a package folder created after the start, then edited.
	writeFile(t, filepath.Join(dir, "pkg", "__init__.py"), "")
	writeFile(t, filepath.Join(dir, "pkg", "mod.py"), "WORD = 'gamma'\n")
	writeFile(t, app, reloadApp("five---5", "helper", "pkg.mod"))
	waitAnswer(t, s, s.URL, "five---5 beta-beta gamma mp=False")
	writeFile(t, filepath.Join(dir, "pkg", "mod.py"), "WORD = 'delta-delta'\n")
	waitAnswer(t, s, s.URL, "five---5 beta-beta delta-delta mp=False")

	// Files that are not the app's code change nothing.
	reloads := countLines(s.Log.String(), "the app's files changed")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not code\n")
	writeFile(t, filepath.Join(dir, "__pycache__", "stray.py"), "x = 1\n")
	writeFile(t, filepath.Join(dir, ".hidden", "stray.py"), "x = 1\n")
	writeFile(t, app, reloadApp("six----6", "helper", "pkg.mod")) // a change after them
	waitAnswer(t, s, s.URL, "six----6 beta-beta delta-delta mp=False")
	if got := countLines(s.Log.String(), "the app's files changed"); got != reloads+1 {
		t.Errorf("want one reload for the last edit (not for notes.txt, __pycache__ or a "+
			"hidden folder), got %d; log:\n%s", got-reloads, s.Log)
	}
}

// TestReloadStartsBrokenApp: under --reload, an app that cannot load at the start does not
// stop the server (no exit 3 after --boot-attempts): fixing it serves it.
func TestReloadStartsBrokenApp(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	writeFile(t, app, "def broken(:\n")
	p := startProcess(t, app, "--reload", "--threads", "2", "--boot-attempts", "1",
		"--listen", "127.0.0.1:0")
	waitForLog(t, p, "the app could not load")
	m := regexp.MustCompile(`addresses=(127\.0\.0\.1:\d+)`).FindStringSubmatch(p.Log.String())
	if m == nil {
		t.Fatalf("the supervisor did not say where it listens:\n%s", p.Log)
	}
	writeFile(t, app, reloadApp("fixed"))
	waitAnswer(t, p, "http://"+m[1], "fixed  mp=False")
	if err := p.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Log)
	}
}

// TestReloadWithProcesses: --reload with --processes N reloads every worker.
func TestReloadWithProcesses(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	writeFile(t, app, reloadApp("one"))
	s := startServer(t, app, "--reload", "--processes", "2", "--threads", "1")
	waitForLines(t, s, `msg="all workers ready"`, 1)
	waitAnswer(t, s, s.URL, "one  mp=True")
	writeFile(t, app, reloadApp("two-2"))
	waitAnswer(t, s, s.URL, "two-2  mp=True")
	// Both workers serve the new code once the old ones are gone.
	waitForLines(t, s, `msg="worker stopped"`, 2)
	for i := 0; i < 10; i++ {
		if _, got := getText(t, s.URL); got != "two-2  mp=True" {
			t.Fatalf("request %d after the reload got %q; log:\n%s", i, got, s.Log)
		}
	}
}

// TestReloadFromConfigFile: reload = true in a config file's group table.
func TestReloadFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "site", "app.py")
	writeFile(t, app, reloadApp("one"))
	conf := filepath.Join(dir, "pyhost.toml")
	writeFile(t, conf, "[group.web]\nreload = true\nthreads = 2\n\n"+
		"[[mount]]\nprefix = \"/\"\napp = \"site/app.py\"\n")
	s := startServer(t, "--config", conf)
	waitAnswer(t, s, s.URL, "one  mp=False")
	writeFile(t, app, reloadApp("two-2"))
	waitAnswer(t, s, s.URL, "two-2  mp=False")
}
