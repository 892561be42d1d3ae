package pyhost_test

// Files a test writes: config files built from their TOML tables (and the folder of apps and
// static files the process-group tests serve them from), apps copied out of testdata/.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeFile writes data to path (mode 0644), making its folder first; a failure fails the test.
func writeFile[T ~string | ~[]byte](t testing.TB, path string, data T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTestdata copies testdata/FROM to the path to.
func copyTestdata(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(repoPath("testdata", from))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b)
}

// groupsConfig writes the config file text as pyhost.toml into a new folder readable by every
// user (an app run as nobody must read it) and returns the file's path. {{DIR}} in the text
// stands for the folder, which also holds:
//   - app.py: testdata/groups_app.py, which answers with its environ (groupFacts);
//   - broken.py: an app that cannot be imported;
//   - static/: site.css, page.html, data.json, sub/nested.css, and files an alias must not
//     serve: .env, sub/.git/HEAD, and ../outside.txt beside the folder.
func groupsConfig(t *testing.T, text string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pyhost-groups-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	copyTestdata(t, "groups_app.py", filepath.Join(dir, "app.py"))
	for name, data := range map[string]string{
		"broken.py":             "import this_module_does_not_exist_anywhere\n",
		"static/site.css":       "body { color: #333; }\n",
		"static/.env":           "SECRET=1\n",
		"static/sub/notes.txt":  "notes\n",
		"outside.txt":           "not under the alias\n",
		"pyhost.toml":           strings.ReplaceAll(text, "{{DIR}}", dir),
		"static/sub/.git/HEAD":  "ref: refs/heads/main\n",
		"static/page.html":      "<p>hi</p>\n",
		"static/data.json":      "{}\n",
		"static/sub/nested.css": "a {}\n",
	} {
		writeFile(t, filepath.Join(dir, name), data)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "pyhost.toml")
}

// groupTable is a [group.NAME] table with its keys, each a line of TOML (or several).
func groupTable(name string, keys ...string) string {
	return "[group." + name + "]\n" + tomlLines(keys) + "\n"
}

// mountTable is a [[mount]] table serving app at prefix, in processGroup ("": no
// process-group key), with more keys.
func mountTable(prefix, app, processGroup string, keys ...string) string {
	text := "[[mount]]\nprefix = " + strconv.Quote(prefix) + "\napp = " + strconv.Quote(app) + "\n"
	if processGroup != "" {
		text += "process-group = " + strconv.Quote(processGroup) + "\n"
	}
	return text + tomlLines(keys) + "\n"
}

func tomlLines(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		if k != "" {
			b.WriteString(k + "\n")
		}
	}
	return b.String()
}

// staticAlias is a [[static]] table serving the folder's static/ at /static.
const staticAlias = "[[static]]\nprefix = \"/static\"\ndirectory = \"static\"\n"

// metricsListen is the top-level key that serves metrics on a free port.
const metricsListen = `metrics-listen = "127.0.0.1:0"` + "\n"

// twoGroups is the config of two process groups most tests route to: group a, 2 processes of
// 1 thread, at /a; group b, threads = 4 (one process), at /b in application group shop; and
// the static alias. bKeys go into group b's table.
func twoGroups(bKeys ...string) string {
	return groupTable("a", "processes = 2", "threads = 1") +
		groupTable("b", append(bKeys, "threads = 4")...) +
		mountTable("/a", "app.py", "a") +
		mountTable("/b", "app.py", "b", `application-group = "shop"`) +
		staticAlias
}

// routedAB is a config of two process groups, a and b, mounted at /a and /b of one listener
// (so the supervisor's router serves it), with aKeys and bKeys in their tables.
func routedAB(aKeys, bKeys string) string {
	return groupTable("a", aKeys) + groupTable("b", bKeys) +
		mountTable("/a", "app.py", "a") + mountTable("/b", "app.py", "b")
}
