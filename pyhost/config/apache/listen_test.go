package apache

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyhost/pyhost/pyhost/config"
)

// importText imports an Apache snippet (its scripts created) and loads the output.
func importText(t *testing.T, text string) (*config.File, string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.wsgi"), []byte("application = None\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(text, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	out, err := Import(conf, &warn)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "pyhost.toml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.LoadFile(path, py311)
	if err != nil {
		t.Fatalf("the imported file does not load: %v\n%s", err, out)
	}
	return f, out, warn.String()
}

// A site file without Listen (Apache's sits in ports.conf) listens where its VirtualHost
// does, and says so, instead of falling back to 127.0.0.1:8000 without a word.
func TestImportApacheVirtualHostPort(t *testing.T) {
	f, out, warn := importText(t, "<VirtualHost *:80>\n  WSGIScriptAlias / DIR/app.wsgi\n</VirtualHost>\n"+
		"<VirtualHost 127.0.0.2:8081 _default_:80>\n</VirtualHost>\n")
	if want := []string{":80", "127.0.0.2:8081"}; !slices.Equal(f.Listen, want) {
		t.Errorf("listen = %q, want %q\n%s", f.Listen, want, out)
	}
	if !strings.Contains(warn, "site.conf:1: no Listen directive: listening on :80, the <VirtualHost>'s address") ||
		!strings.Contains(warn, "site.conf:4: no Listen directive: listening on 127.0.0.2:8081") {
		t.Errorf("warnings:\n%s", warn)
	}
	if strings.Count(warn, "listening on :80") != 1 {
		t.Errorf("a port of two VirtualHosts is reported once:\n%s", warn)
	}
}

func TestImportApacheListenWinsOverVirtualHost(t *testing.T) {
	f, _, warn := importText(t, "Listen 8080\n<VirtualHost *:8080>\n  WSGIScriptAlias / DIR/app.wsgi\n</VirtualHost>\n")
	if !slices.Equal(f.Listen, []string{":8080"}) || strings.Contains(warn, "Listen") {
		t.Errorf("listen = %q; warnings:\n%s", f.Listen, warn)
	}
}

func TestImportApacheNoAddressAtAll(t *testing.T) {
	f, _, warn := importText(t, "WSGIScriptAlias / DIR/app.wsgi\n<VirtualHost *>\n</VirtualHost>\n")
	if len(f.Listen) != 0 || !strings.Contains(warn, "no Listen directive and no <VirtualHost> address") ||
		!strings.Contains(warn, config.DefaultListen) || !strings.Contains(warn, "<VirtualHost *> names no port") {
		t.Errorf("listen = %q; warnings:\n%s", f.Listen, warn)
	}
}
