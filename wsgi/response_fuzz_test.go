package wsgi

// The response head's way from the app to the wire: start_response's checks in C (status and
// header names and values), the packed head it makes, and the Go side that reads it
// (writeHead, nextHeader, appContentLength). Whatever the app passes, C accepts exactly the
// heads HTTP allows — no CR, LF, NUL or other control byte, no name that is not a token — and
// Go turns an accepted head into the same status and headers, never crashing.

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// headRecorder is a ResponseWriter that keeps the status and headers writeHead set.
type headRecorder struct {
	h    http.Header
	code int
}

func (w *headRecorder) Header() http.Header         { return w.h }
func (w *headRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (w *headRecorder) WriteHeader(code int)        { w.code = code }

// isTchar: RFC 9110 §5.6.2 token characters.
func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// asLatin1 is the latin-1 bytes of the str Python makes from s (decoded as latin-1, or as
// UTF-8 with bad bytes replaced); ok=false when that str has a character past U+00FF.
func asLatin1(s string, fromUTF8 bool) (string, bool) {
	if !fromUTF8 {
		return s, true
	}
	if !utf8.ValidString(s) {
		return "", false // Python puts U+FFFD in place of the bad bytes
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return "", false
		}
		b = append(b, byte(r))
	}
	return string(b), true
}

var hopByHop = []string{"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"te", "trailer", "trailers", "transfer-encoding", "upgrade"}

// expectedHead is the packed head start_response must make for status and headers, or
// ok=false where it must raise.
func expectedHead(status string, headers [][2]string, fromUTF8 bool) (head []byte, ok bool) {
	st, ok := asLatin1(status, fromUTF8)
	// 1xx: interim answers only the server may send (a 101 would claim a protocol switch).
	if !ok || len(st) < 4 || st[0] < '2' || st[0] > '9' || st[1] < '0' || st[1] > '9' ||
		st[2] < '0' || st[2] > '9' || st[3] != ' ' {
		return nil, false
	}
	for i := 0; i < len(st); i++ {
		if st[i] < 0x20 || st[i] == 0x7f {
			return nil, false
		}
	}
	head = append([]byte(st), 0)
	lengths := 0
	for _, h := range headers {
		name, ok1 := asLatin1(h[0], fromUTF8)
		value, ok2 := asLatin1(h[1], fromUTF8)
		if !ok1 || !ok2 || name == "" || slices.Contains(hopByHop, strings.ToLower(name)) {
			return nil, false
		}
		for i := 0; i < len(name); i++ {
			if !isTchar(name[i]) {
				return nil, false
			}
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return nil, false
			}
		}
		if strings.EqualFold(name, "Content-Length") && !validContentLength(value, &lengths) {
			return nil, false
		}
		head = append(append(append(append(head, name...), 0), value...), 0)
	}
	return head, true
}

// validContentLength: the first Content-Length of a response, and 1 to 18 decimal digits.
func validContentLength(v string, seen *int) bool {
	if *seen++; *seen > 1 || len(v) == 0 || len(v) > 18 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func checkStartResponse(t *testing.T, status string, headers [][2]string, fromUTF8 bool) {
	head, err := mainInterp(t).StartResponseForTest(status, headers, fromUTF8)
	want, ok := expectedHead(status, headers, fromUTF8)
	if !ok {
		if err == nil {
			t.Fatalf("start_response(%q, %q) accepted a head HTTP forbids: %q", status, headers, head)
		}
		if !strings.Contains(err.Error(), "ValueError") && !strings.Contains(err.Error(), "TypeError") {
			t.Fatalf("start_response(%q, %q): want ValueError or TypeError, got %v", status, headers, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("start_response(%q, %q) refused a valid head: %v", status, headers, err)
	}
	if !bytes.Equal(head, want) {
		t.Fatalf("packed head %q, want %q", head, want)
	}
	checkWriteHead(t, head)
}

// checkWriteHead: writeHead on a head C accepted sends its status and exactly its headers
// (names compared without case: the canonical form may differ), and appContentLength agrees.
func checkWriteHead(t *testing.T, head []byte) {
	w := &headRecorder{h: http.Header{}}
	writeHead(w, head, -1)
	if code, _ := strconv.Atoi(string(head[:3])); w.code != code {
		t.Fatalf("writeHead sent status %d for %q", w.code, head)
	}
	var want, got []string
	lengths := map[int64]bool{}
	parts := bytes.Split(head[:len(head)-1], []byte{0})[1:]
	for i := 0; i+1 < len(parts); i += 2 {
		want = append(want, strings.ToLower(string(parts[i]))+"\x00"+string(parts[i+1]))
		if strings.EqualFold(string(parts[i]), "Content-Length") {
			if n, err := strconv.ParseInt(string(parts[i+1]), 10, 64); err == nil {
				lengths[n] = true
			}
		}
	}
	for k, vs := range w.h {
		for _, v := range vs {
			got = append(got, strings.ToLower(k)+"\x00"+v)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Fatalf("writeHead set headers %q, want %q", got, want)
	}
	if n := appContentLength(head); n < -1 || n >= 0 && !lengths[n] {
		t.Fatalf("appContentLength = %d for %q", n, head)
	}
}

func FuzzStartResponse(f *testing.F) {
	f.Add("200 OK", blob("Content-Type", "text/plain", "Content-Length", "5"), false)
	f.Add("404 Not Found", blob("X-A", "1", "x-a", "2", "ETag", "\"e\"", "etag", "w"), false)
	f.Add("200 OK", blob("Set-Cookie", "a=1\r\nX-Injected: 1"), false)
	f.Add("200 OK", blob("X-Lf", "a\nb"), false)
	f.Add("200 OK", blob("X-Cr", "a\rb"), false)
	f.Add("200 OK", blob("X-Bad\r\nName", "v"), false)
	f.Add("200 OK", blob("X-Lf\nName", "v"), false)
	f.Add("200 OK", blob("X-Nul\x00", "v"), false)
	f.Add("200 OK", blob("X-Val", "a\x00b"), false)
	f.Add("200 OK", blob("X Space", "v"), false)
	f.Add("200 OK", blob("Connection", "close"), false)
	f.Add("200 OK\r\nX: y", blob(), false)
	f.Add("200", blob(), false)
	f.Add("099 Low", blob(), false)
	f.Add("101 Switching Protocols", blob("Content-Type", "text/plain"), false)
	f.Add("200 OK", blob("Content-Length", "+5"), false)
	f.Add("200 OK", blob("Content-Length", "5", "content-length", "6"), false)
	f.Add("200 OK", blob("Content-Length", " 5"), false)
	f.Add("200 OK", blob("Content-Length", "1234567890123456789"), false)
	f.Add("200 caf\xc3\xa9", blob("X-Caf\xc3\xa9", "caf\xc3\xa9"), true)
	f.Add("200 OK", blob("X-Euro", "\xe2\x82\xac"), true)
	f.Add("200 OK", blob("X-Latin1", "caf\xe9\t\x80\xff"), false)
	f.Fuzz(func(t *testing.T, status string, hdrs []byte, fromUTF8 bool) {
		parts := fields(hdrs)
		var headers [][2]string
		for i := 0; i+1 < len(parts); i += 2 {
			headers = append(headers, [2]string{parts[i], parts[i+1]})
		}
		checkStartResponse(t, status, headers, fromUTF8)
	})
}

// FuzzPackedHead: the Go reader of packed heads given any bytes — not only what C makes —
// never panics (a panic inside a callback from C would take the process down) and never
// returns a name or value with a NUL in it.
func FuzzPackedHead(f *testing.F) {
	f.Add([]byte("200 OK\x00Content-Length\x005\x00"))
	f.Add([]byte("200 OK\x00"))
	f.Add([]byte(""))
	f.Add([]byte("200 OK"))
	f.Add([]byte("200 OK\x00X-Name-Only"))
	f.Add([]byte("200 OK\x00X-Name\x00no-terminator"))
	f.Add([]byte("2\x00"))
	f.Add([]byte("abc\x00X\x00y\x00"))
	f.Fuzz(func(t *testing.T, head []byte) {
		n := 0
		for name, value, rest := nextHeader(afterStatus(head)); name != nil; name, value, rest = nextHeader(rest) {
			if bytes.IndexByte(name, 0) >= 0 || bytes.IndexByte(value, 0) >= 0 {
				t.Fatalf("nextHeader gave %q: %q from %q", name, value, head)
			}
			if n++; n > len(head) {
				t.Fatalf("nextHeader does not advance on %q", head)
			}
		}
		if cl := appContentLength(head); cl < -1 {
			t.Fatalf("appContentLength = %d", cl)
		}
		w := &headRecorder{h: http.Header{}}
		writeHead(w, head, int64(len(head)))
		if w.code < 100 || w.code > 999 {
			t.Fatalf("writeHead sent status %d for %q (net/http panics outside 100-999)", w.code, head)
		}
	})
}
