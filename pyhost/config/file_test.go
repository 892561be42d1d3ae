package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyhost/pyhost/gil"
)

var py311 = gil.Build{VersionHex: 0x030B02F0, Version: "3.11.2"}

// writeConfig writes a config file and an app.py beside it; it returns the file's path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("def application(e, s): pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pyhost.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestServerFileModel(t *testing.T) {
	path := writeConfig(t, `
listen = ["127.0.0.1:9000", "[::1]:9001"]

[group.site]
threads = 3
python-path = ["/opt/a", "/opt/b"]
shutdown-timeout = "5s"
max-body-size = "2MiB"
preload = true

[group."api.v2"]
gil = "shared"

[[mount]]
prefix = "/"
app = "app.py"
process-group = "site"
application-group = "%{GLOBAL}"

[[mount]]
prefix = "/api/"
app = "pkg.mod:make()"
process-group = "api.v2"

[[static]]
prefix = "/files"
directory = "static"
`)
	f, err := LoadFile(path, py311)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if !slices.Equal(f.Listen, []string{"127.0.0.1:9000", "[::1]:9001"}) {
		t.Errorf("listen = %q", f.Listen)
	}
	if len(f.ProcessGroups) != 2 || f.ProcessGroups[0].Name != "site" || f.ProcessGroups[1].Name != "api.v2" {
		t.Fatalf("groups in file order: %+v", f.ProcessGroups)
	}
	site := f.ProcessGroups[0].Config
	if site.Threads != 3 || site.ShutdownTimeout != 5*time.Second || site.Limits.MaxBodyBytes != 2<<20 ||
		!site.Preload || !slices.Equal(site.PythonPath, []string{"/opt/a", "/opt/b"}) ||
		!slices.Equal(site.Listen, f.Listen) {
		t.Errorf("group site's serve configuration: %+v", site)
	}
	if want := []Mount{{Prefix: "/", App: filepath.Join(dir, "app.py"), AppGroup: AppGroupGlobal}}; !slices.Equal(site.Mounts, want) {
		t.Errorf("group site's mounts = %+v, want %+v", site.Mounts, want)
	}
	api := f.ProcessGroups[1].Config
	if api.Threads != 8 || api.GIL != gil.Shared || len(api.Mounts) != 1 || api.Mounts[0].Prefix != "/api" ||
		api.Mounts[0].App != "pkg.mod:make()" {
		t.Errorf("group api.v2 (serve's defaults, its mount): %+v", api)
	}
	if len(f.Static) != 1 || f.Static[0].Prefix != "/files" || f.Static[0].Dir != filepath.Join(dir, "static") {
		t.Errorf("static = %+v", f.Static)
	}
}

func TestServerFileImplicitGroup(t *testing.T) {
	f, err := LoadFile(writeConfig(t, "[[mount]]\nprefix = \"/\"\napp = \"app.py\"\n"), py311)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ProcessGroups) != 1 || f.ProcessGroups[0].Name != ImplicitProcessGroup || f.Mounts[0].ProcessGroup != ImplicitProcessGroup ||
		f.ProcessGroups[0].Config.Threads != 8 {
		t.Errorf("a file without groups runs its mounts in one group of serve's defaults: %+v", f.ProcessGroups)
	}
}

// Every problem names its line and key, and all of a file's problems are reported at once.
func TestServerFileErrors(t *testing.T) {
	const mount = "\n[[mount]]\nprefix = \"/\"\napp = \"app.py\"\n"
	cases := []struct {
		name, text string
		want       []string // "LINE: key: text" fragments, one per problem
	}{
		{"syntax", "listen = [\n[group.a]\n", []string{`:2: `, "TOML syntax"}},
		{"duplicate key", "[group.a]\nthreads = 1\nthreads = 2\n" + mount, []string{`:3: `}},
		{"unknown top-level key", "colour = 1\n" + mount, []string{":1: colour: unknown key"}},
		{"group option at the top", "threads = 4\n" + mount,
			[]string{":1: threads: unknown key; threads is a process-group option"}},
		{"unknown group key", "[group.a]\nthreads = 2\n\ncolour = \"red\"\n" + mount,
			[]string{":4: group.a.colour: unknown key: pyhost serve has no --colour flag"}},
		{"underscore spelling", "[group.a]\npython_path = \"/x\"\n" + mount,
			[]string{":2: group.a.python_path: unknown key", "did you mean python-path?"}},
		{"negative threads", "[group.a]\nthreads = -2\n" + mount,
			[]string{":2: group.a.threads: --threads -2: need at least 1 request thread"}},
		{"bad duration", "[group.a]\nshutdown-timeout = \"soon\"\n" + mount,
			[]string{`:2: group.a.shutdown-timeout: "soon": `, `want a duration such as "30s"`}},
		{"duration without unit", "[group.a]\nshutdown-timeout = 30\n" + mount,
			[]string{`:2: group.a.shutdown-timeout: "30": `, "want a duration"}},
		{"bad size", "[group.a]\nmax-body-size = \"lots\"\n" + mount,
			[]string{`:2: group.a.max-body-size: "lots": `, "want a size"}},
		{"bad gil", "[group.a]\ngil = \"none\"\n" + mount, []string{`:2: group.a.gil: "none": `}},
		{"gil own needs 3.12", "[group.a]\ngil = \"own\"\n" + mount,
			[]string{":2: group.a.gil: --gil own needs Python ≥ 3.12"}},
		{"list for a single flag", "[group.a]\nthreads = [1, 2]\n" + mount,
			[]string{":2: group.a.threads: takes one value, not a list of 2"}},
		{"table as an option", "[group.a]\nthreads = {n = 1}\n" + mount, []string{":2: group.a.threads: a table"}},
		{"listen in a group", "[group.a]\nlisten = \"127.0.0.1:1\"\n" + mount,
			[]string{":2: group.a.listen: not a group option: listen is the server's"}},
		{"bad listen", "listen = [\"127.0.0.1:80\",\n  \"localhost\"]\n" + mount,
			[]string{`:2: listen: "localhost": want HOST:PORT`}},
		{"undefined process group", "[group.a]\n" + mount + "process-group = \"b\"\n",
			[]string{`:6: mount[0].process-group: "b" is not declared`}},
		{"ambiguous process group", "[group.a]\n[group.b]\n" + mount, []string{":4: mount[0]: process-group is missing"}},
		{"unused group", "[group.a]\n[group.b]\n" + mount + "process-group = \"a\"\n",
			[]string{":2: group.b: no [[mount]] runs in this group"}},
		{"duplicate prefix", mount + mount, []string{":7: mount[1].prefix: / is already mounted on line 2"}},
		{"prefix taken by static", mount + "\n[[static]]\nprefix = \"/\"\ndirectory = \"static\"\n",
			[]string{":7: static[0].prefix: / is already used on line 2"}},
		{"missing script", "[[mount]]\nprefix = \"/\"\napp = \"gone.wsgi\"\n",
			[]string{":3: mount[0].app: WSGI script ", "gone.wsgi: no such file or directory"}},
		{"prefix without slash", "[[mount]]\nprefix = \"api\"\napp = \"app.py\"\n",
			[]string{`:2: mount[0].prefix: "api": a URL prefix starts with /`}},
		{"mount without app", "[[mount]]\nprefix = \"/\"\n", []string{":1: mount[0]: app is missing"}},
		{"unknown mount key", mount + "script = \"x\"\n", []string{":5: mount[0].script: unknown key; mount takes prefix, app"}},
		{"static not a folder", mount + "[[static]]\nprefix = \"/s\"\ndirectory = \"app.py\"\n",
			[]string{":7: static[0].directory: ", "app.py is not a folder"}},
		{"nothing to serve", "listen = \"127.0.0.1:1\"\n", []string{"pyhost.toml: nothing to serve"}},
		{"several problems, in line order", "[group.a]\nthreads = -1\ncolour = 1\n" + mount,
			[]string{":2: group.a.threads", "\n", ":3: group.a.colour"}},
		{"inline mount tables", "mount = [\n  {prefix = \"/\", app = \"app.py\"},\n  {prefix = \"/\", app = \"app.py\"},\n]\n",
			[]string{":3: mount[1].prefix: / is already mounted on line 2"}},
		{"error keys count every table", "[[mount]]\nprefix = \"x\"\napp = \"app.py\"\n" + mount + "process-group = \"b\"\n",
			[]string{":2: mount[0].prefix", ":8: mount[1].process-group"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.text)
			_, err := LoadFile(path, py311)
			var ce *FileError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *FileError, got %v", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error lacks %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
			if !strings.HasPrefix(msg, path) {
				t.Errorf("error does not start with the file's path %s:\n%s", path, msg)
			}
		})
	}
}

// Flags beside --config override the file's key of the same name, whole lists included; an
// APP or --mount beside it is refused, and so are files that need several groups.
func TestParseServeConfig(t *testing.T) {
	path := writeConfig(t, `
listen = ["127.0.0.1:9000", "127.0.0.1:9001"]
[group.site]
threads = 3
python-path = ["/opt/a", "/opt/b"]
shutdown-timeout = "5s"
[[mount]]
prefix = "/"
app = "app.py"
application-group = "web"
`)
	cfg, _, found, err := parseServeConfig([]string{"--config", path}, nil, os.Stderr, py311)
	if !found || err != nil {
		t.Fatal(found, err)
	}
	if cfg.Threads != 3 || len(cfg.Listen) != 2 || len(cfg.PythonPath) != 2 || len(cfg.Mounts) != 1 ||
		cfg.Mounts[0].AppGroup != "web" {
		t.Errorf("from the file alone: %+v", cfg)
	}
	cfg, _, _, err = parseServeConfig([]string{"--threads", "5", "--config=" + path, "--listen",
		"127.0.0.1:0", "--python-path", "/opt/c"}, nil, os.Stderr, py311)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Threads != 5 || !slices.Equal(cfg.Listen, []string{"127.0.0.1:0"}) ||
		!slices.Equal(cfg.PythonPath, []string{"/opt/c"}) || cfg.ShutdownTimeout != 5*time.Second {
		t.Errorf("command-line flags replace the file's values, the others stay: %+v", cfg)
	}
	if _, _, found, _ := parseServeConfig([]string{"app.py", "--threads", "2"}, nil, os.Stderr, py311); found {
		t.Error("found --config where there is none")
	}
	for _, args := range [][]string{{"--config", path, "other.py"}, {"--config", path, "--mount", "/x=x.py"}} {
		if _, _, _, err := parseServeConfig(args, nil, os.Stderr, py311); err == nil || !strings.Contains(err.Error(), "[[mount]] tables say what to serve") {
			t.Errorf("%q: want the app refused, got %v", args, err)
		}
	}
	if _, _, _, err := parseServeConfig([]string{"--config"}, nil, os.Stderr, py311); err == nil {
		t.Error("--config without a file was accepted")
	}
	two := writeConfig(t, "[group.a]\n[group.b]\n[[mount]]\nprefix=\"/\"\napp=\"app.py\"\nprocess-group=\"a\"\n"+
		"[[mount]]\nprefix=\"/b\"\napp=\"app.py\"\nprocess-group=\"b\"\n")
	if _, _, _, err := parseServeConfig([]string{"--config", two}, nil, os.Stderr, py311); !errors.Is(err, ErrSeveralProcessGroups) {
		t.Errorf("two groups: want ErrSeveralProcessGroups (serve then runs the router), got %v", err)
	}
	f, cfgs, _, err := ParseServeProcessGroups([]string{"--config", two, "--threads", "3"}, os.Stderr, py311)
	if err != nil || len(cfgs) != 2 || f.ProcessGroups[1].Name != "b" || len(cfgs[1].Mounts) != 1 ||
		cfgs[1].Mounts[0].Prefix != "/b" || cfgs[0].Threads != 3 || cfgs[1].Threads != 3 {
		t.Errorf("two groups: each its own mounts, the command line's flags in both: %+v %v", cfgs, err)
	}
}
