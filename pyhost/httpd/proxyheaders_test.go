package httpd

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/pyhost/pyhost/wsgi/request"
)

func trustOf(t *testing.T, unix bool, cidrs ...string) *ProxyHeaders {
	t.Helper()
	var ps []netip.Prefix
	for _, c := range cidrs {
		ps = append(ps, netip.MustParsePrefix(c))
	}
	return NewProxyHeaders(ps, unix)
}

func TestProxyHeadersResolve(t *testing.T) {
	p := trustOf(t, false, "127.0.0.1/32", "10.0.0.0/8", "fd00::/8")
	const local = "127.0.0.1:5555"
	cases := []struct {
		name string
		peer string
		hdr  []string // name, value pairs
		want Resolved
		ok   bool
	}{
		{"untrusted peer", "192.0.2.9:1", []string{"X-Forwarded-For", "203.0.113.7",
			"X-Forwarded-Proto", "https"}, Resolved{}, false},
		{"no fields", local, nil, Resolved{}, false},
		{"xff one", local, []string{"X-Forwarded-For", "203.0.113.7"},
			Resolved{Client: "203.0.113.7:"}, true},
		{"xff chain skips trusted hops", local, []string{"X-Forwarded-For",
			"203.0.113.7, 10.1.2.3", "X-Forwarded-For", "10.0.0.1"},
			Resolved{Client: "203.0.113.7:"}, true},
		{"forged left entries lose", local, []string{"X-Forwarded-For",
			"1.2.3.4, 198.51.100.5, 10.0.0.2"}, Resolved{Client: "198.51.100.5:"}, true},
		{"all trusted: leftmost", local, []string{"X-Forwarded-For", "10.0.0.3, 10.0.0.2"},
			Resolved{Client: "10.0.0.3:"}, true},
		{"garbage rightmost: peer stays", local, []string{"X-Forwarded-For", "1.2.3.4, nonsense",
			"X-Forwarded-Proto", "https"}, Resolved{Scheme: "https"}, true},
		{"garbage after a trusted hop", local, []string{"X-Forwarded-For", "junk, 10.0.0.9"},
			Resolved{Client: "10.0.0.9:"}, true},
		{"xff ipv6 and ports", local, []string{"X-Forwarded-For", "[2001:db8::1]:4711"},
			Resolved{Client: "[2001:db8::1]:4711"}, true},
		{"xff bare ipv6", local, []string{"X-Forwarded-For", "2001:db8::2"},
			Resolved{Client: "[2001:db8::2]:"}, true},
		{"proto and host", local, []string{"X-Forwarded-For", "203.0.113.7",
			"X-Forwarded-Proto", "HTTPS", "X-Forwarded-Host", "example.com:8443"},
			Resolved{Client: "203.0.113.7:", Scheme: "https", Host: "example.com:8443"}, true},
		{"proto list aligned with the chain", local, []string{"X-Forwarded-For",
			"203.0.113.7, 10.0.0.5", "X-Forwarded-Proto", "https, http"},
			Resolved{Client: "203.0.113.7:", Scheme: "https"}, true},
		{"forged proto list: the proxy's own entry", local, []string{"X-Forwarded-For",
			"1.1.1.1, 203.0.113.7", "X-Forwarded-Proto", "https, http"},
			Resolved{Client: "203.0.113.7:", Scheme: "http"}, true},
		{"proto list not aligned: rightmost", local, []string{"X-Forwarded-Proto",
			"https, http, https"}, Resolved{Scheme: "https"}, true},
		{"bad proto and host ignored", local, []string{"X-Forwarded-For", "203.0.113.7",
			"X-Forwarded-Proto", "gopher", "X-Forwarded-Host", "evil.com/path"},
			Resolved{Client: "203.0.113.7:"}, true},
		{"forwarded", local, []string{"Forwarded",
			`for=192.0.2.60;proto=https;host=example.com, for=10.0.0.1`},
			Resolved{Client: "192.0.2.60:", Scheme: "https", Host: "example.com"}, true},
		{"forwarded ipv6 quoted with port", local, []string{"Forwarded",
			`For="[2001:db8:cafe::17]:4711";Proto=https`},
			Resolved{Client: "[2001:db8:cafe::17]:4711", Scheme: "https"}, true},
		{"forwarded wins over x-forwarded", local, []string{"Forwarded", "for=192.0.2.43",
			"X-Forwarded-For", "198.51.100.1", "X-Forwarded-Proto", "https"},
			Resolved{Client: "192.0.2.43:"}, true},
		{"forwarded unknown stops the walk", local, []string{"Forwarded",
			"for=192.0.2.43, for=unknown;proto=https, for=10.0.0.7"},
			Resolved{Client: "10.0.0.7:", Scheme: "https"}, true},
		{"forwarded obfuscated stops the walk", local, []string{"Forwarded",
			`for=192.0.2.43, for="_hidden:_port"`}, Resolved{}, false},
		{"forwarded obfuscated port dropped", local, []string{"Forwarded",
			`for="198.51.100.17:_p"`}, Resolved{Client: "198.51.100.17:"}, true},
		{"forwarded several lines", local, []string{"Forwarded", "for=192.0.2.1",
			"Forwarded", "for=10.0.0.2;by=10.0.0.3"}, Resolved{Client: "192.0.2.1:"}, true},
		{"forwarded quoted comma", local, []string{"Forwarded",
			`for=192.0.2.1;host="a,b", for=10.0.0.2`}, Resolved{Client: "192.0.2.1:"}, true},
		{"forwarded malformed element", local, []string{"Forwarded",
			`for=192.0.2.1, for="10.0.0.2`}, Resolved{}, false},
		{"forwarded duplicate parameter", local, []string{"Forwarded",
			`for=192.0.2.1;for=192.0.2.2`}, Resolved{}, false},
		{"mapped ipv4 peer", "[::ffff:127.0.0.1]:80", []string{"X-Forwarded-For", "192.0.2.5"},
			Resolved{Client: "192.0.2.5:"}, true},
		{"unix peer not trusted without unix", "@", []string{"X-Forwarded-For", "192.0.2.5"},
			Resolved{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(c.hdr); i += 2 {
				h.Add(c.hdr[i], c.hdr[i+1])
			}
			got, ok := p.Resolve(c.peer, h)
			if got != c.want || ok != c.ok {
				t.Errorf("Resolve(%q, %v) = %+v, %v; want %+v, %v", c.peer, h, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestProxyHeadersUnixAndNil(t *testing.T) {
	h := http.Header{"X-Forwarded-For": {"192.0.2.5"}}
	if got, ok := trustOf(t, true).Resolve("@", h); !ok || got.Client != "192.0.2.5:" {
		t.Errorf("unix peer with unix trusted: %+v %v", got, ok)
	}
	if _, ok := trustOf(t, true).Resolve("127.0.0.1:80", h); ok {
		t.Error("a TCP peer is trusted by unix alone")
	}
	if NewProxyHeaders(nil, false) != nil {
		t.Error("an empty trust is not nil")
	}
	var none *ProxyHeaders
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if _, ok := none.Resolve("127.0.0.1:1", h); ok {
		t.Error("nil resolves")
	}
	if none.Wrap(next) == nil {
		t.Error("nil Wrap lost the handler")
	}
}

func TestProxyHeadersWrap(t *testing.T) {
	p := trustOf(t, false, "127.0.0.0/8")
	var seen *http.Request
	h := p.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r }))
	r := httptest.NewRequest("GET", "http://internal:8000/x", nil)
	r.RemoteAddr = "127.0.0.1:4000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "shop.example")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if seen.RemoteAddr != "203.0.113.9:" || seen.Host != "shop.example" ||
		request.Scheme(seen.Context()) != "https" {
		t.Errorf("got RemoteAddr %q Host %q scheme %q", seen.RemoteAddr, seen.Host,
			request.Scheme(seen.Context()))
	}
	if r.RemoteAddr != "127.0.0.1:4000" || r.Host != "internal:8000" {
		t.Error("the caller's request was changed")
	}
	if seen.Header.Get("X-Forwarded-For") != "203.0.113.9" {
		t.Error("the fields were removed: the app should still see them")
	}
}

func TestCleanHost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"example.com", "example.com"}, {"example.com:443", "example.com:443"},
		{"[2001:db8::1]:8080", "[2001:db8::1]:8080"}, {"[2001:db8::1]", "[2001:db8::1]"},
		{"a b", ""}, {"a/b", ""}, {"a:b:c", ""}, {"x:99999", ""}, {"[1.2.3.4]", ""},
		{"", ""}, {"a@b", ""}, {"host:", ""},
	} {
		if got := cleanHost(c.in); got != c.want {
			t.Errorf("cleanHost(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzForwarded(f *testing.F) {
	for _, s := range []string{`for=192.0.2.60;proto=http;by=203.0.113.43`,
		`for="[2001:db8:cafe::17]:4711"`, `for=unknown, for="_x"`, `for="\"`, `;;,,`} {
		f.Add(s)
	}
	p := NewProxyHeaders([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, false)
	f.Fuzz(func(t *testing.T, v string) {
		res, _ := p.Resolve("127.0.0.1:1", http.Header{"Forwarded": {v}})
		if res.Scheme != "" && res.Scheme != "http" && res.Scheme != "https" {
			t.Fatalf("scheme %q", res.Scheme)
		}
		if res.Host != "" && cleanHost(res.Host) != res.Host {
			t.Fatalf("host %q", res.Host)
		}
		if res.Client != "" {
			if _, err := netip.ParseAddr(parseHostOf(res.Client)); err != nil {
				t.Fatalf("client %q", res.Client)
			}
		}
	})
}

// parseHostOf is the host of a host:port whose port may be empty.
func parseHostOf(hp string) string {
	for i := len(hp) - 1; i >= 0; i-- {
		if hp[i] == ':' {
			h := hp[:i]
			if len(h) > 1 && h[0] == '[' {
				h = h[1 : len(h)-1]
			}
			return h
		}
	}
	return hp
}
