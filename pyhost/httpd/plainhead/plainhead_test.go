package plainhead

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestIs: the fast path takes the heads of ordinary requests without a body, and
// leaves everything else to net/http.
func TestIs(t *testing.T) {
	const h = "Host: example.test\r\n"
	cases := []struct {
		head  string
		plain bool
	}{
		{"GET / HTTP/1.1\r\n" + h + "\r\n", true},
		{"GET /a/b?c=d&e=%20 HTTP/1.1\r\n" + h + "Accept: */*\r\nX-A:\t v \r\n\r\n", true},
		{"HEAD /x HTTP/1.1\r\nhost: example.test:8080\r\n\r\n", true},
		{"DELETE /x HTTP/1.1\r\n" + h + "Content-Length: 0\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: [::1]:80\r\nX-Obs: caf\xc3\xa9\r\n\r\n", true},

		{"POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\n", false},
		{"POST / HTTP/1.1\r\n" + h + "Content-Length: 00\r\n\r\n", false},
		{"POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n", false},
		{"POST / HTTP/1.1\r\n" + h + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "Expect: 100-continue\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "Upgrade: h2c\r\nHTTP2-Settings: x\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + h + "\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", false},
		{"GET / HTTP/2.0\r\n" + h + "\r\n", false},
		{"GET / HTTP/1.1 \r\n" + h + "\r\n", false},
		{"GET  / HTTP/1.1\r\n" + h + "\r\n", false},
		{"get / HTTP/1.1\r\n" + h + "\r\n", false},
		{"CONNECT example.test:443 HTTP/1.1\r\n" + h + "\r\n", false},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false},
		{"OPTIONS * HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET http://example.test/ HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET /caf\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET /\x00 HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET / HTTP/1.1\n" + h + "\r\n", false},
		// Bare-LF line ends, which the fast path's head reader ends a head at (fastconn.go):
		// such a head is never plain, so it always goes to net/http.
		{"GET / HTTP/1.1\nHost: example.test\n\n", false},
		{"GET / HTTP/1.0\n\n", false},
		{"GET / HTTP/1.1\r\nHost: example.test\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "\n", false},
		// HTTP/1.0 with Transfer-Encoding, which net/http ignores and hides (http1rules.go).
		{"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "Bad Field\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "X-A : 1\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + ": 1\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "X-A: 1\r\n 2\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "X-A: a\rb\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "X-A: a\x00b\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "X-A: a\x7fb\r\n\r\n", false},
		{"\r\nGET / HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET / HTTP/1.1\r\n" + h + "\r\nGET / HTTP/1.1\r\n" + h + "\r\n", false},
		{"GET / HTTP/1.1\r\n" + h, false},
	}
	for _, c := range cases {
		if got := Is([]byte(c.head)); got != c.plain {
			t.Errorf("Is(%q) = %v, want %v", c.head, got, c.plain)
		}
	}
	if Is([]byte("GET /"+strings.Repeat("a", 100)+" HTTP/1.1\r\n"+h+"\r\n")) != true {
		t.Error("a long path is plain")
	}
}

// TestRequestAsReadRequest: the request the fast path makes of a plain head is the one
// http.ReadRequest makes of it.
func TestRequestAsReadRequest(t *testing.T) {
	heads := []string{
		"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n",
		"GET /a%20b/c?d=e&f=%C3%A9 HTTP/1.1\r\nhost:  example.test:81 \r\nAccept: */*\r\n" +
			"X-Dup: 1\r\nx-dup: 2\r\nUser-Agent: t\r\nx_under: u\r\nX-EMPTY:\r\n\r\n",
		"HEAD /x HTTP/1.0\r\n\r\n",
		"GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		"GET //double/slash?%zz HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	tmpl := &http.Request{RemoteAddr: "192.0.2.1:1234"}
	for _, head := range heads {
		if !Is([]byte(head)) {
			t.Errorf("%q: not plain", head)
			continue
		}
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			t.Fatalf("%q: %v", head, err)
		}
		got, err := Request([]byte(head), tmpl)
		if err != nil {
			t.Fatalf("%q: %v", head, err)
		}
		if got.RemoteAddr != tmpl.RemoteAddr {
			t.Errorf("%q: RemoteAddr %q", head, got.RemoteAddr)
		}
		type view struct {
			Method, URL, Path, RawPath, RawQuery, RequestURI, Proto, Host string
			Major, Minor                                                  int
			Header                                                        http.Header
			Close                                                         bool
			ContentLength                                                 int64
			NoBody                                                        bool
		}
		see := func(r *http.Request) view {
			return view{r.Method, r.URL.String(), r.URL.Path, r.URL.RawPath, r.URL.RawQuery,
				r.RequestURI, r.Proto, r.Host, r.ProtoMajor, r.ProtoMinor, r.Header, r.Close,
				r.ContentLength, r.Body == http.NoBody}
		}
		if g, w := see(got), see(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%q:\nRequest     %+v\nReadRequest  %+v", head, g, w)
		}
	}
}

// browserHead is a request head as a browser sends it.
const browserHead = "GET /articles/42?ref=home HTTP/1.1\r\nHost: example.test\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\nCookie: session=abc123; theme=dark\r\n" +
	"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n\r\n"

// BenchmarkRequest: the fast path's check and parse of a browser's head, against
// http.ReadRequest's parse of the same head.
func BenchmarkRequest(b *testing.B) {
	head := []byte(browserHead)
	tmpl := &http.Request{RemoteAddr: "192.0.2.1:1234"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !Is(head) {
				b.Fatal("not plain")
			}
			if _, err := Request(head, tmpl); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("net/http", func(b *testing.B) {
		b.ReportAllocs()
		r := strings.NewReader(browserHead)
		br := bufio.NewReader(r)
		for b.Loop() {
			r.Reset(browserHead)
			br.Reset(r)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
}
