package supervisor

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nextChange waits (10 s at most) for the watcher's next change.
func nextChange(t *testing.T, w *watcher) []string {
	t.Helper()
	select {
	case paths := <-w.changes:
		return paths
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
		return nil
	}
}

// noChange: nothing is reported for a while (longer than the debounce).
func noChange(t *testing.T, w *watcher) {
	t.Helper()
	select {
	case paths := <-w.changes:
		t.Fatalf("unexpected change: %q", paths)
	case <-time.After(3 * watchQuiet):
	}
}

func TestWatcherReportsPythonFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app.py"), "a = 1\n")
	write(t, filepath.Join(dir, "sub", "m.py"), "m = 1\n")
	write(t, filepath.Join(dir, "venv", "pyvenv.cfg"), "home = /usr\n")
	script := filepath.Join(dir, "site.wsgi")
	w, err := watchSources([]string{dir}, []string{script}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()

	// A burst of writes is one change.
	write(t, filepath.Join(dir, "app.py"), "a = 2\n")
	write(t, filepath.Join(dir, "sub", "m.py"), "m = 2\n")
	if got, want := nextChange(t, w), []string{filepath.Join(dir, "app.py"),
		filepath.Join(dir, "sub", "m.py")}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Not code, hidden, caches, virtualenvs: nothing.
	write(t, filepath.Join(dir, "notes.txt"), "x")
	write(t, filepath.Join(dir, ".app.py.swp"), "x")
	write(t, filepath.Join(dir, ".git", "x.py"), "x")
	write(t, filepath.Join(dir, "__pycache__", "x.py"), "x")
	write(t, filepath.Join(dir, "venv", "lib", "x.py"), "x")
	noChange(t, w)
	// The app script, whatever its name.
	write(t, script, "application = None\n")
	if got := nextChange(t, w); !slices.Equal(got, []string{script}) {
		t.Fatalf("got %q, want the script", got)
	}
	// A new folder, then a file in it.
	if err := os.MkdirAll(filepath.Join(dir, "new", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * watchQuiet) // let its watches be added (a file already there counts too)
	write(t, filepath.Join(dir, "new", "deeper", "n.py"), "n = 1\n")
	if got := nextChange(t, w); !slices.Contains(got, filepath.Join(dir, "new", "deeper", "n.py")) {
		t.Fatalf("got %q, want new/deeper/n.py", got)
	}
	// A file renamed over another (how many editors save).
	write(t, filepath.Join(dir, "tmp-save"), "a = 3\n")
	if err := os.Rename(filepath.Join(dir, "tmp-save"), filepath.Join(dir, "app.py")); err != nil {
		t.Fatal(err)
	}
	if got := nextChange(t, w); !slices.Equal(got, []string{filepath.Join(dir, "app.py")}) {
		t.Fatalf("got %q, want app.py", got)
	}
}

func TestSourceRoots(t *testing.T) {
	venv := t.TempDir()
	write(t, filepath.Join(venv, "pyvenv.cfg"), "home = /usr\n")
	cfgs := []config.Config{{
		App:        "src/app.py",
		Reload:     true,
		PythonPath: []string{"lib", "/usr/lib/python3/dist-packages", "/usr/lib/python3.12", "/proj/src/sub", filepath.Join(venv, "lib")},
		Mounts:     []config.Mount{{Prefix: "/api", App: "api.wsgi:app"}, {Prefix: "/x", App: "/elsewhere/x.wsgi"}},
	}, {App: "pkg.mod:app", Chdir: "/srv/site"}}
	roots, scripts := sourceRoots(cfgs, "/proj")
	wantRoots := []string{"/elsewhere", "/proj", "/srv/site"}
	if !slices.Equal(roots, wantRoots) {
		t.Errorf("roots: got %q, want %q", roots, wantRoots)
	}
	wantScripts := []string{"/proj/src/app.py", "/elsewhere/x.wsgi"}
	if !slices.Equal(scripts, wantScripts) {
		t.Errorf("scripts: got %q, want %q", scripts, wantScripts)
	}
}
