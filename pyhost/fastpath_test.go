package pyhost_test

// The fast path (pyhost's own HTTP/1 reader and writer, the default --http-server) against
// net/http (--http-server stdlib): the same raw requests must get the same answers, framing
// and connection handling from both.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// firstAnswerButConnection is ex's first response, without its Connection field and what
// follows it on the connection.
func firstAnswerButConnection(ex connExchange) connExchange {
	if len(ex.Responses) == 0 || len(ex.Heads) == 0 {
		return ex
	}
	r := ex.Responses[0]
	r.Header = r.Header.Clone()
	delete(r.Header, "Connection")
	r.Close = false
	head := connectionField.ReplaceAllString(ex.Heads[0], "")
	return connExchange{Responses: []seenResponse{r}, Heads: []string{head}}
}

var connectionField = regexp.MustCompile(`(?m)^Connection: [^\r\n]*\r\n`)

// TestFastPathAnswersAsNetHTTP sends the same raw requests to a server on the fast path and
// to one with --http-server stdlib (net/http for everything), and wants the same responses,
// framing and connection handling from both, whether the fast path answers a request itself
// or hands its connection to net/http: plain requests, HTTP/1.0 with and without keep-alive,
// HEAD, pipelining, streamed and chunked bodies, bodies of known and unknown length, errors,
// static files with ranges, requests with bodies after plain ones on the same connection,
// and malformed heads.
func TestFastPathAnswersAsNetHTTP(t *testing.T) {
	dir := t.TempDir()
	file := bytes.Repeat([]byte("static file line\n"), 300)
	writeFile(t, filepath.Join(dir, "f.txt"), file)
	args := []string{repoPath("testdata", "pep3333.py"), "--static", "/files=" + dir}
	fast := startServer(t, args...)
	std := startServer(t, append(args, "--http-server", "stdlib")...)

	const h = "Host: example.test\r\n"
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\n" + h + "\r\n" }
	post := func(path, body string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s", path, h, len(body), body)
	}
	bigField := "X-Big: " + strings.Repeat("b", 6000) + "\r\n"
	cases := []struct {
		name  string
		raw   string
		heads []bool
	}{
		{"plain GET", get("/cookies"), nil},
		{"404", get("/no-such-route"), nil},
		{"HEAD", "HEAD /head HTTP/1.1\r\n" + h + "\r\n", []bool{true}},
		{"HEAD of a plain route", "HEAD /cookies HTTP/1.1\r\n" + h + "\r\n", []bool{true}},
		{"HEAD HTTP/1.0", "HEAD /cookies HTTP/1.0\r\n\r\n", []bool{true}},
		{"streamed, HTTP/1.1", get("/stream"), nil},
		{"streamed, HTTP/1.0", "GET /stream HTTP/1.0\r\n\r\n", nil},
		{"write callable", get("/write"), nil},
		{"file_wrapper", get("/filewrapper?path=" + filepath.Join(dir, "f.txt")), nil},
		{"file_wrapper, a length", get("/filewrapper?length=100&skip=7&path=" + filepath.Join(dir, "f.txt")), nil},
		{"file_wrapper, BytesIO", get("/filewrapper?bytesio=1"), nil},
		{"file_wrapper, HTTP/1.0", "GET /filewrapper?path=" + filepath.Join(dir, "f.txt") + " HTTP/1.0\r\n\r\n", nil},
		{"closed list", get("/closed"), nil},
		{"close()", get("/close"), nil},
		{"app raises", get("/error/raise"), nil},
		{"app fails mid-stream", get("/error/midstream"), nil},
		{"bad status from the app", get("/error/bad-status"), nil},
		{"HTTP/1.0", "GET /cookies HTTP/1.0\r\n\r\n", nil},
		{"HTTP/1.0 keep-alive", "GET /cookies HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
			"GET /head HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil},
		{"HTTP/1.0 keep-alive, streamed", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil},
		{"Connection: close", "GET /cookies HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n", nil},
		{"pipelined", get("/cookies") + get("/stream") + "HEAD /head HTTP/1.1\r\n" + h + "\r\n" +
			get("/no-such-route"), []bool{false, false, true, false}},
		{"POST after GET", get("/cookies") + post("/echo", "hello body"), nil},
		{"GET after POST", post("/echo", "hello body") + get("/cookies"), nil},
		{"GET, POST, GET", get("/cookies") + post("/echo", "x") + get("/head"), nil},
		{"POST Content-Length 0", post("/echo", ""), nil},
		{"a CRLF after a bodiless POST", post("/echo", "") + "\r\n" + get("/cookies"), nil},
		{"chunked POST", "POST /echo HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n" +
			"5\r\nhello\r\n0\r\n\r\n" + get("/cookies"), nil},
		{"Expect 100-continue", "POST /echo HTTP/1.1\r\n" + h + "Content-Length: 3\r\n" +
			"Expect: 100-continue\r\n\r\nabc", nil},
		{"large head", "GET /cookies HTTP/1.1\r\n" + h + bigField + "\r\n" + get("/head"), nil},
		{"lower-case names", "GET /cookies HTTP/1.1\r\nhost: example.test\r\nx-a: 1\r\n\r\n", nil},
		{"absolute form", "GET http://example.test/cookies HTTP/1.1\r\n" + h + "\r\n", nil},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + h + "\r\n", nil},
		{"static file", get("/files/f.txt"), nil},
		{"static range", "GET /files/f.txt HTTP/1.1\r\n" + h + "Range: bytes=10-99\r\n\r\n", nil},
		{"static HEAD", "HEAD /files/f.txt HTTP/1.1\r\n" + h + "\r\n", []bool{true}},
		{"static missing", get("/files/none.txt"), nil},
		{"malformed field", get("/cookies")[:len(get("/cookies"))-2] + "Bad Field\r\n\r\n", nil},
		{"no Host", "GET /cookies HTTP/1.1\r\n\r\n", nil},
		{"two Hosts", "GET /cookies HTTP/1.1\r\n" + h + h + "\r\n", nil},
		{"HTTP/2.0 line", "GET /cookies HTTP/2.0\r\n" + h + "\r\n", nil},
		{"bare LF", "GET /cookies HTTP/1.1\n" + h + "\r\n", nil},
		{"bare LF throughout", "GET /cookies HTTP/1.1\nHost: example.test\nX-A: 1\n\n", nil},
		{"bare LF, no fields", "GET /cookies HTTP/1.0\n\n", nil},
		{"bare LF, then CRLF", "GET /cookies HTTP/1.1\nHost: example.test\n\r\n" + get("/head"), nil},
		{"bare LF after a plain request", get("/head") + "GET /cookies HTTP/1.1\nHost: example.test\n\n", nil},
		{"CONNECT", "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n", nil},
		{"space in target", "GET /coo kies HTTP/1.1\r\n" + h + "\r\n", nil},
		{"folded field", "GET /cookies HTTP/1.1\r\n" + h + "X-A: 1\r\n 2\r\n\r\n", nil},
		{"GET with Content-Length 0", "GET /cookies HTTP/1.1\r\n" + h + "Content-Length: 0\r\n\r\n", nil},
		{"keep-alive, close", "GET /cookies HTTP/1.1\r\n" + h + "Connection: keep-alive, close\r\n\r\n", nil},
		{"HTTP/1.0 with Host", "GET /cookies HTTP/1.0\r\n" + h + "Connection: keep-alive\r\n\r\n", nil},
		{"too many fields", "GET /cookies HTTP/1.1\r\n" + h + strings.Repeat("X-F: 1\r\n", 150) + "\r\n" + get("/head"), nil},
		{"a long line, within the limit", "GET /cookies?" + strings.Repeat("q", 5000) + " HTTP/1.1\r\n" + h + "\r\n" + get("/head"), nil},
		{"HTTP/1.0 keep-alive, 404", "GET /no-such-route HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil},
		{"HTTP/1.0 keep-alive, static", "GET /files/f.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil},
		{"HTTP/1.0 keep-alive, file_wrapper", "GET /filewrapper?path=" + filepath.Join(dir, "f.txt") + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil},
		{"HTTP/1.0 HEAD keep-alive", "HEAD /head HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []bool{true}},
		{"static 304", "GET /files/f.txt HTTP/1.1\r\n" + h + "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n", nil},
		{"too long a line", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + h + "\r\n", nil},
	}
	for _, c := range cases {
		got := rawExchange(t, fast, c.raw, c.heads)
		want := rawExchange(t, std, c.raw, c.heads)
		// net/http's HTTP/1.0 requests never keep their connection (httpd/http1rules.go: it hides
		// the Transfer-Encoding that decides whether they may), while the fast path, which
		// reads the head itself, keeps a plain one's: only the first answer is compared, but
		// for its Connection field.
		if strings.Contains(c.raw, " HTTP/1.0\r\n") && strings.Contains(c.raw, "Connection: keep-alive\r\n") {
			if len(want.Responses) != 1 || !want.Closed {
				t.Errorf("%s: net/http answered %d requests, closed %v; want one and closed",
					c.name, len(want.Responses), want.Closed)
			}
			if n := strings.Count(c.raw, " HTTP/1.0\r\n"); len(got.Responses) != n {
				t.Errorf("%s: the fast path answered %d requests of %d", c.name, len(got.Responses), n)
			}
			got, want = firstAnswerButConnection(got), firstAnswerButConnection(want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the fast path answered\n%+v\nnet/http answered\n%+v", c.name, got, want)
		}
		if len(want.Responses) == 0 {
			t.Errorf("%s: no response at all from net/http: the case tests nothing", c.name)
		}
	}

	// The environ an app sees is the same, but for what differs between two servers.
	var envs [2]map[string]any
	for i, s := range []*server{fast, std} {
		_, body := s.get(t, "/environ/a%20b?q=1&r=%C3%A9", "X-Custom", "v", "Cookie", "a=b",
			"Pragma", "no-cache", "Connection", "keep-alive")
		if err := json.Unmarshal(body, &envs[i]); err != nil {
			t.Fatalf("environ: %v: %s", err, body)
		}
		for _, k := range []string{"REMOTE_PORT", "SERVER_PORT", "HTTP_HOST", "SERVER_NAME",
			"pyhost.request_id", "HTTP_X_REQUEST_ID", "REQUEST_ID", "_thread"} {
			delete(envs[i], k)
		}
	}
	if !reflect.DeepEqual(envs[0], envs[1]) {
		t.Errorf("environ on the fast path\n%v\nwith net/http\n%v", envs[0], envs[1])
	}
}
