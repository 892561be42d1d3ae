package wsgi

// The environ's way from Go to Python: packEnviron's buffer, decoded by the real C decoder in
// a real interpreter, must give exactly the environ PEP 3333 and CGI ask for, whatever bytes
// and lengths the request's fields have.

import (
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fields splits a fuzzer's blob into strings, each a uvarint length and that many bytes; a
// truncated last one is dropped. Any byte can appear in any field.
func fields(blob []byte) []string {
	var out []string
	for len(blob) > 0 {
		n, k := binary.Uvarint(blob)
		if k <= 0 || n > uint64(len(blob)-k) {
			break
		}
		out = append(out, string(blob[k:k+int(n)]))
		blob = blob[k+int(n):]
	}
	return out
}

// blob is the inverse of fields, for seeds.
func blob(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// cgiKey is the CGI name of a request header, derived here from the spec, not from the packer:
// HTTP_, ASCII letters upper-cased (other bytes kept as they are), '-' as '_'.
func cgiKey(name string) string {
	b := []byte("HTTP_" + name)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// environCase is one fuzzed request and the environ it must produce.
type environCase struct {
	req  *http.Request
	want map[string]string
}

// newEnvironCase builds a request from fuzzed parts; header pairs come from hdrs (name, value,
// name, value...), plus one long header whose name and value lengths the fuzzer picks freely
// (so lengths around 64 KiB are reached without 64 KiB inputs).
func newEnvironCase(method, scriptName, path, query string, hdrs []byte, longName, longValue uint32) environCase {
	r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query},
		Proto: "HTTP/1.1", Host: "example.test:8080", RemoteAddr: "192.0.2.1:1234",
		Header: http.Header{}}
	want := map[string]string{
		"REQUEST_METHOD": method, "SCRIPT_NAME": scriptName,
		"PATH_INFO": strings.TrimPrefix(path, scriptName), "QUERY_STRING": query,
		"SERVER_NAME": "example.test", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
		"REMOTE_ADDR": "192.0.2.1", "REMOTE_PORT": "1234", "wsgi.url_scheme": "http",
		"pyhost.request_id": "fuzz-1", "HTTP_HOST": "example.test:8080",
	}
	pairs := fields(hdrs)
	if longName > 0 {
		pairs = append(pairs, "X-"+strings.Repeat("n", int(longName%(1<<18))),
			strings.Repeat("v", int(longValue%(1<<18))))
	}
	owner := map[string]string{} // environ key -> the one header name allowed to produce it
	for i := 0; i+1 < len(pairs); i += 2 {
		name, value := pairs[i], pairs[i+1]
		// Two names with one CGI key ("a-b" and "A-B") would make the result depend on map
		// order; a real request has canonical names and cannot have both. Keep the first.
		if o, ok := owner[cgiKey(name)]; ok && o != name {
			continue
		}
		owner[cgiKey(name)] = name
		r.Header[name] = append(r.Header[name], value)
	}
	for name, values := range r.Header {
		switch {
		case name == "Content-Type":
			want["CONTENT_TYPE"] = values[0]
		case name == "Content-Length":
			want["CONTENT_LENGTH"] = values[0]
		case strings.Contains(name, "_"), name == "Proxy":
			// Dropped: '_' could impersonate another header; Proxy is httpoxy.
		case name == "Cookie":
			want[cgiKey(name)] = strings.Join(values, "; ")
		default:
			want[cgiKey(name)] = strings.Join(values, ", ")
		}
	}
	return environCase{req: r, want: want}
}

func checkEnvironRoundTrip(t *testing.T, c environCase) {
	in := mainInterp(t)
	base, templateSize, err := in.DecodeEnvironForTest(nil)
	if err != nil || len(base) != 0 {
		t.Fatalf("empty environ: %v %v", base, err)
	}
	packed, err := appendEnviron(nil, c.req, c.want["SCRIPT_NAME"], "fuzz-1")
	if err != nil {
		t.Fatalf("packing: %v", err)
	}
	got, size, err := in.DecodeEnvironForTest(packed)
	if err != nil {
		t.Fatalf("decoding what Go packed: %v", err)
	}
	for k, v := range c.want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("environ[%.60q] = %.60q (present: %v), want %.60q", k, g, ok, v)
		}
	}
	for k := range got {
		if _, ok := c.want[k]; !ok {
			t.Errorf("unexpected environ key %.60q = %.60q", k, got[k])
		}
	}
	if size != templateSize+len(c.want) {
		t.Errorf("environ has %d entries, want %d constant + %d", size, templateSize, len(c.want))
	}
}

func FuzzEnvironRoundTrip(f *testing.F) {
	f.Add("GET", "", "/", "", []byte(nil), uint32(0), uint32(0))
	f.Add("POST", "/app", "/app/caf\xc3\xa9 x", "a=1&b=%20", blob("Content-Type", "text/plain",
		"Content-Length", "3", "Cookie", "a=1", "Cookie", "b=2", "X-Multi", "one", "X-Multi",
		"two", "User-Agent", "fuzz", "X_Under", "spoof", "Proxy", "http://evil"), uint32(0), uint32(0))
	f.Add("GET", "", "/\x00\xff", "\r\n", blob("\x00\xff-\r\n", "\x00\r\n\xff", "", ""),
		uint32(0), uint32(0))
	f.Add("GET", "", "/", "", []byte(nil), uint32(65531), uint32(3)) // the 16-bit wrap
	f.Add("GET", "", "/", "", []byte(nil), uint32(65529), uint32(65536))
	f.Add("GET", "", "/", "", []byte(nil), uint32(70000), uint32(1))
	f.Fuzz(func(t *testing.T, method, scriptName, path, query string, hdrs []byte, longName, longValue uint32) {
		checkEnvironRoundTrip(t, newEnvironCase(method, scriptName, path, query, hdrs, longName, longValue))
	})
}
