package pyhost_test

// The config file through the real binary: check-config's exit codes and output, serve
// --config answering over loopback, import-apache's output accepted by check-config.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCheckConfigValid(t *testing.T) {
	r := runPyhost(t, apart, "check-config", "testdata/config/example.toml")
	if r.Code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		"testdata/config/example.toml: valid",
		"listeners: 127.0.0.1:8000, [::1]:8000",
		"group site: threads=8 gil=shared",
		"group api: threads=4 application-group=%{RESOURCE}",
		"mount / -> testdata/config/site/app.py in group site, application group %{GLOBAL}",
		"mount /api -> testdata/config/site/app.py (callable api) in group api, application group %{RESOURCE}",
		"static /static -> testdata/config/site/static",
		"note: 2 process groups: the supervisor accepts on the listeners and routes",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.Stdout)
		}
	}
}

func TestCheckConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	text := "[group.site]\nthreads = -1\nshutdown-timeout = \"a while\"\ncolour = \"red\"\n\n" +
		"[[mount]]\nprefix = \"/\"\napp = \"missing.wsgi\"\nprocess-group = \"nope\"\n"
	writeFile(t, bad, text)
	syntax := filepath.Join(dir, "syntax.toml")
	writeFile(t, syntax, "[group.site]\nthreads = = 2\n")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"check-config", bad}, []string{
			bad + ":2: group.site.threads: --threads -1: need at least 1 request thread",
			bad + `:3: group.site.shutdown-timeout: "a while": `,
			bad + ":4: group.site.colour: unknown key",
			bad + ":8: mount[0].app: WSGI script " + dir + "/missing.wsgi: no such file or directory",
			bad + `:9: mount[0].process-group: "nope" is not declared`,
		}},
		{[]string{"check-config", syntax}, []string{syntax + ":2: ", "TOML syntax"}},
		{[]string{"check-config", filepath.Join(dir, "absent.toml")}, []string{"absent.toml: no such file"}},
		{[]string{"check-config"}, []string{"usage: pyhost check-config FILE"}},
	}
	for _, c := range cases {
		r := runPyhost(t, apart, c.args...)
		if r.Code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s%s", c.args, r.Code, r.Stdout, r.Stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", c.args, w, r.Stderr)
			}
		}
	}
}

var interpreterRE = regexp.MustCompile(`interpreter=([0-9a-f]+)`)

// A one-group file served for real: its mounts with their callables and application groups,
// its group's threads; --listen on the command line (the harness adds it) replaces the file's.
func TestServeConfig(t *testing.T) {
	s := startServer(t, "--config", "testdata/config/one-group.toml")
	_, site := s.get(t, "/page")
	_, api := s.get(t, "/api/x")
	if !strings.HasPrefix(string(site), "site script_name= ") || !strings.Contains(string(site), "multithread=True") {
		t.Errorf("/page answered %q", site)
	}
	if !strings.HasPrefix(string(api), "api script_name=/api ") {
		t.Errorf("/api/x answered %q", api)
	}
	a, b := interpreterRE.FindSubmatch(site), interpreterRE.FindSubmatch(api)
	if a == nil || b == nil || bytes.Equal(a[1], b[1]) {
		t.Errorf("application group \"api\" must run in its own interpreter, not %%{GLOBAL}'s: %q %q", site, api)
	}
	if !strings.Contains(s.Log.String(), "threads=2") {
		t.Errorf("the group's threads = 2 is not in use:\n%s", s.Log)
	}
}

func TestServeConfigRefusals(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--config", "testdata/config/one-group.toml", "testdata/hello.py"},
			"the file's [[mount]] tables say what to serve"},
		{[]string{"serve", "--config", "testdata/config/absent.toml"}, "absent.toml: no such file"},
	}
	for _, c := range cases {
		r := runPyhost(t, apart, c.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 and %q\n%s%s", c.args, r.Code, c.want, r.Stdout, r.Stderr)
		}
	}
}

// import-apache → check-config, through the binary, for both samples.
func TestImportApacheCheckConfig(t *testing.T) {
	samples := map[string][]string{
		"apache-daemon.conf": {"site/wsgi.py", "site/static/", "venv/pyvenv.cfg"},
		"apache-multi.conf":  {"shop/shop.wsgi", "blog/blog.wsgi", "status/status.py", "robots/", "shop venv/pyvenv.cfg"},
	}
	for name, files := range samples {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range files {
				p := filepath.Join(root, f)
				if !strings.HasSuffix(f, "/") {
					writeFile(t, p, "def application(e, s): pass\n")
				} else if err := os.MkdirAll(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			text, err := os.ReadFile(repoPath("testdata", "config", name))
			if err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(root, name)
			writeFile(t, conf, bytes.ReplaceAll(text, []byte("/srv/pyhost-sample"), []byte(root)))
			imp := runPyhost(t, apart, "import-apache", conf)
			if imp.Code != 0 {
				t.Fatalf("import-apache: exit %d\n%s", imp.Code, imp.Stderr)
			}
			if !regexp.MustCompile(`import-apache: ` + regexp.QuoteMeta(conf) + `:\d+: `).MatchString(imp.Stderr) {
				t.Errorf("warnings do not name the file and line:\n%s", imp.Stderr)
			}
			imported := filepath.Join(root, "pyhost.toml")
			writeFile(t, imported, imp.Stdout)
			r := runPyhost(t, apart, "check-config", imported)
			if r.Code != 0 || !strings.Contains(r.Stdout, "valid") {
				t.Errorf("check-config of the imported file: exit %d\n%s%s\n%s", r.Code, r.Stdout, r.Stderr, imp.Stdout)
			}
		})
	}
}
