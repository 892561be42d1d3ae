package pyhost_test

// --trusted-proxy: from a trusted peer, Forwarded and X-Forwarded-For/-Proto/-Host set the
// client, scheme and host the app and the access log see; from anyone else they are ordinary
// headers. The tests' client is the "proxy" (127.0.0.1).

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// proxyEnviron sends GET (or POST, which net/http reads instead of the fast path) url with
// the header pairs hdr and returns the app's environ (testdata/pep3333.py's /environ dump).
func proxyEnviron(t *testing.T, s *server, method, url string, hdr ...string) map[string]any {
	t.Helper()
	var body *bytes.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte("x=1"))
	} else {
		body = bytes.NewReader(nil)
	}
	resp, b := request(t, client, s.Log, method, url, body, hdr...)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return jsonOf(t, b)
}

// wantEnviron checks env's values for the keys of want; a nil value wants the key absent.
func wantEnviron(t *testing.T, what string, env map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, present := env[k]
		if v == nil && present || v != nil && got != v {
			t.Errorf("%s: environ[%s] = %v, want %v", what, k, got, v)
		}
	}
}

func TestProxyHeadersFromTrustedPeer(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	s := startServer(t, "testdata/pep3333.py", "--trusted-proxy", "127.0.0.1/32",
		"--trusted-proxy", "10.0.0.0/8", "--access-log", logPath)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		env := proxyEnviron(t, s, method, s.URL+"/environ", "Host", "backend:8000",
			"X-Forwarded-For", "203.0.113.7, 10.1.2.3", "X-Forwarded-Proto", "https",
			"X-Forwarded-Host", "shop.example")
		wantEnviron(t, method+" X-Forwarded-*", env, map[string]any{
			"REMOTE_ADDR": "203.0.113.7", "REMOTE_PORT": "", "wsgi.url_scheme": "https",
			"HTTPS": "on", "HTTP_HOST": "shop.example", "SERVER_NAME": "shop.example",
			"SERVER_PORT": "443",
			// the fields themselves stay, as the proxy sent them
			"HTTP_X_FORWARDED_FOR": "203.0.113.7, 10.1.2.3", "HTTP_X_FORWARDED_PROTO": "https",
		})
	}
	// A forged chain: the client put addresses of its own in front of what the proxy appended.
	env := proxyEnviron(t, s, http.MethodGet, s.URL+"/environ",
		"X-Forwarded-For", "10.9.9.9, 127.0.0.1, 198.51.100.23", "X-Forwarded-Proto", "https, http")
	wantEnviron(t, "forged chain", env, map[string]any{
		"REMOTE_ADDR": "198.51.100.23", "wsgi.url_scheme": "http", "HTTPS": nil})
	// RFC 7239 Forwarded, IPv6 with a port, and the host with its port; it wins over X-F-F.
	env = proxyEnviron(t, s, http.MethodGet, s.URL+"/environ", "Forwarded",
		`for="[2001:db8:cafe::17]:4711";proto=https;host="shop.example:8443", for=10.0.0.1`,
		"X-Forwarded-For", "192.0.2.1")
	wantEnviron(t, "Forwarded", env, map[string]any{
		"REMOTE_ADDR": "2001:db8:cafe::17", "REMOTE_PORT": "4711", "wsgi.url_scheme": "https",
		"HTTPS": "on", "HTTP_HOST": "shop.example:8443", "SERVER_NAME": "shop.example",
		"SERVER_PORT": "8443"})
	// Malformed fields from a trusted proxy: the bad part is ignored, never a 500.
	env = proxyEnviron(t, s, http.MethodGet, s.URL+"/environ", "Forwarded", `for="unterminated`,
		"X-Forwarded-Host", "evil.example/x")
	wantEnviron(t, "malformed", env, map[string]any{"REMOTE_ADDR": "127.0.0.1",
		"wsgi.url_scheme": "http"})
	entries := readAccessLog(t, logPath, 5, false)
	for i, want := range []string{"203.0.113.7", "203.0.113.7", "198.51.100.23",
		"2001:db8:cafe::17", "127.0.0.1"} {
		if entries[i].RemoteAddr != want {
			t.Errorf("access log line %d: remote %q, want %q", i+1, entries[i].RemoteAddr, want)
		}
	}
}

func TestProxyHeadersFromUntrustedPeer(t *testing.T) {
	for _, args := range [][]string{{"--trusted-proxy", "10.0.0.0/8"}, nil} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			s := startServer(t, append([]string{"testdata/pep3333.py"}, args...)...)
			env := proxyEnviron(t, s, http.MethodGet, s.URL+"/environ", "Host", "backend:8000",
				"X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https",
				"X-Forwarded-Host", "shop.example", "Forwarded", "for=192.0.2.1;proto=https")
			wantEnviron(t, "untrusted", env, map[string]any{
				"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "HTTPS": nil,
				"HTTP_HOST": "backend:8000", "SERVER_NAME": "backend", "SERVER_PORT": "8000",
				"HTTP_X_FORWARDED_FOR": "203.0.113.7", "HTTP_X_FORWARDED_PROTO": "https",
				"HTTP_X_FORWARDED_HOST": "shop.example",
				"HTTP_FORWARDED":        "for=192.0.2.1;proto=https"})
		})
	}
}

// Behind the supervisor's front (several process groups): the front resolves the fields once,
// from the config file's top-level trusted-proxy, and the workers take its word; a client
// cannot pose as the front.
func TestProxyHeadersBehindFront(t *testing.T) {
	app := repoPath("testdata", "pep3333.py")
	conf := filepath.Join(t.TempDir(), "pyhost.toml")
	writeFile(t, conf, `trusted-proxy = ["127.0.0.1"]`+"\n"+
		groupTable("a")+groupTable("b")+mountTable("/a", app, "a")+mountTable("/b", app, "b"))
	s := startServer(t, "--config", conf)
	env := proxyEnviron(t, s, http.MethodGet, s.URL+"/b/environ", "X-Forwarded-For",
		"1.2.3.4, 203.0.113.9", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "shop.example",
		"Pyhost-Forwarded-Proto", "http", "Pyhost-Forwarded-Client", "6.6.6.6:1")
	wantEnviron(t, "behind the front", env, map[string]any{
		"REMOTE_ADDR": "203.0.113.9", "wsgi.url_scheme": "https", "HTTPS": "on",
		"HTTP_HOST": "shop.example", "SERVER_NAME": "shop.example", "SERVER_PORT": "443",
		"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9", "HTTP_PYHOST_FORWARDED_PROTO": nil})
	// Untrusted fields pass through the front to the app unchanged.
	env = proxyEnviron(t, s, http.MethodGet, s.URL+"/a/environ", "Forwarded", "for=unknown")
	wantEnviron(t, "front, nothing usable", env, map[string]any{
		"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "HTTP_FORWARDED": "for=unknown"})
}

// The flag's errors name the value and show the forms it takes; a group table refuses the key.
func TestProxyHeadersConfigErrors(t *testing.T) {
	r := runPyhost(t, together, "serve", "testdata/pep3333.py", "--trusted-proxy", "10.0.0.0/33")
	if r.Code != 2 || !strings.Contains(r.Out, `"10.0.0.0/33" is not a CIDR`) {
		t.Errorf("--trusted-proxy 10.0.0.0/33: exit %d\n%s", r.Code, r.Out)
	}
	conf := filepath.Join(t.TempDir(), "pyhost.toml")
	writeFile(t, conf, groupTable("a", `trusted-proxy = "10.0.0.1"`)+
		mountTable("/", repoPath("testdata", "pep3333.py"), "a"))
	r = runPyhost(t, together, "check-config", conf)
	if r.Code == 0 || !strings.Contains(r.Out, "trusted-proxy is the server's") {
		t.Errorf("trusted-proxy in a group table: exit %d\n%s", r.Code, r.Out)
	}
}
