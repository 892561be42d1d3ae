package pyhost_test

// PEP 3333 behaviour of the real binary: the environ, wsgi.input, start_response, write(),
// iterables, close(), file_wrapper and HEAD.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnviron(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "4")
	resp, body := s.get(t, "/environ/caf%C3%A9%20x?a=1&b=%20", "Host", "example.test:8080",
		"X-Custom-Header", "one", "X-Custom-Header", "two", "X-Under_Score", "spoof",
		"Cookie", "a=1", "Cookie", "b=2", "Proxy", "http://evil", "User-Agent", "pyhost-test")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	env := jsonOf(t, body)
	want := map[string]any{
		"REQUEST_METHOD":         "GET",
		"SCRIPT_NAME":            "",
		"QUERY_STRING":           "a=1&b=%20",
		"SERVER_NAME":            "example.test",
		"SERVER_PORT":            "8080",
		"SERVER_PROTOCOL":        "HTTP/1.1",
		"REMOTE_ADDR":            "127.0.0.1",
		"HTTP_HOST":              "example.test:8080",
		"HTTP_X_CUSTOM_HEADER":   "one, two",
		"HTTP_COOKIE":            "a=1; b=2",
		"HTTP_USER_AGENT":        "pyhost-test",
		"wsgi.url_scheme":        "http",
		"wsgi.multithread":       true,
		"wsgi.multiprocess":      false,
		"wsgi.run_once":          false,
		"wsgi.input":             "<BytesIO>",
		"_file_wrapper_callable": true,
	}
	for k, v := range want {
		if fmt.Sprint(env[k]) != fmt.Sprint(v) {
			t.Errorf("environ[%q] = %v, want %v", k, env[k], v)
		}
	}
	if fmt.Sprint(env["wsgi.version"]) != "[1 0]" {
		t.Errorf("wsgi.version = %v", env["wsgi.version"])
	}
	// PATH_INFO: percent-decoded bytes, carried as latin-1 str (PEP 3333).
	if got := fmt.Sprint(env["_path_info_latin1_bytes"]); got != fmt.Sprint([]byte("/environ/café x")) {
		t.Errorf("PATH_INFO bytes = %s, want the UTF-8 bytes of /environ/café x", got)
	}
	for _, k := range []string{"HTTP_X_UNDER_SCORE", "HTTP_PROXY", "CONTENT_LENGTH", "CONTENT_TYPE",
		"HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"} {
		if v, ok := env[k]; ok {
			t.Errorf("environ has %s = %v; it must not", k, v)
		}
	}
	if _, ok := env["REMOTE_PORT"].(string); !ok || env["REMOTE_PORT"] == "" {
		t.Errorf("REMOTE_PORT = %v", env["REMOTE_PORT"])
	}
	if id, _ := env["pyhost.request_id"].(string); id == "" {
		t.Errorf("no pyhost.request_id in environ")
	}
	if fmt.Sprint(env["_errors_methods"]) != "[write writelines flush]" {
		t.Errorf("wsgi.errors lacks methods: %v", env["_errors_methods"])
	}
	// sys.executable is the Python interpreter (not pyhost), so subprocesses of it work.
	exe, _ := env["_sys_executable"].(string)
	if out, err := exec.Command(exe, "-c", "print(6*7)").Output(); err != nil || string(out) != "42\n" {
		t.Errorf("sys.executable %q does not run Python: %v %q", exe, err, out)
	}
	if fmt.Sprint(env["_input_methods"]) != "[read readline readlines __iter__]" {
		t.Errorf("wsgi.input lacks methods: %v", env["_input_methods"])
	}

	// A Host without a port means the scheme's default; a request id is unique per request.
	_, body2 := s.get(t, "/environ", "Host", "example.test")
	env2 := jsonOf(t, body2)
	if env2["SERVER_NAME"] != "example.test" || env2["SERVER_PORT"] != "80" {
		t.Errorf("Host without port: SERVER_NAME=%v SERVER_PORT=%v", env2["SERVER_NAME"], env2["SERVER_PORT"])
	}
	if env2["pyhost.request_id"] == env["pyhost.request_id"] {
		t.Errorf("request ids repeat: %v", env2["pyhost.request_id"])
	}
	// POST bodies: CONTENT_LENGTH and CONTENT_TYPE are set, wsgi.input is a real stream.
	resp, body3 := s.do(t, "POST", "/environ", strings.NewReader("x=1"), "Content-Type",
		"application/x-www-form-urlencoded")
	env3 := jsonOf(t, body3)
	if resp.StatusCode != 200 || env3["CONTENT_LENGTH"] != "3" ||
		env3["CONTENT_TYPE"] != "application/x-www-form-urlencoded" || env3["REQUEST_METHOD"] != "POST" {
		t.Errorf("POST environ: %d %v %v %v", resp.StatusCode, env3["CONTENT_LENGTH"], env3["CONTENT_TYPE"], env3["REQUEST_METHOD"])
	}
}

func TestMultithreadFlag(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "1")
	_, body := s.get(t, "/environ")
	if env := jsonOf(t, body); env["wsgi.multithread"] != false || env["wsgi.multiprocess"] != false {
		t.Errorf("threads=1: multithread=%v multiprocess=%v, want false false",
			env["wsgi.multithread"], env["wsgi.multiprocess"])
	}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestInput(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "2")
	lines := []byte("first line\nsecond, longer line\n\nlast line without newline")
	big := randomBytes(t, 3<<20+17)
	cases := []struct {
		name, query string
		body        []byte
		chunked     bool
		pieces      string
	}{
		{"read all", "mode=read", big, false, "[]"},
		{"read all chunked", "mode=read", big, true, "[]"},
		{"readline", "mode=readline", lines, false, "[11 20 1 25]"},
		{"readline chunked", "mode=readline", lines, true, "[11 20 1 25]"},
		{"readline limit", "mode=readline&limit=8", lines, false, "[8 3 8 8 4 1 8 8 8 1]"},
		{"readlines", "mode=readlines", lines, false, "[11 20 1 25]"},
		{"iteration", "mode=iter", lines, true, "[11 20 1 25]"},
		{"empty", "mode=read", nil, false, "[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(c.body)
			if c.chunked {
				r = chunkedReader{r}
			}
			resp, body := s.do(t, "POST", "/echo?"+c.query, r)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s\n%s", resp.StatusCode, body, s.Log)
			}
			got := jsonOf(t, body)
			if got["sha256"] != sha(c.body) || got["len"] != float64(len(c.body)) {
				t.Errorf("app read %v bytes (sha %v), sent %d", got["len"], got["sha256"], len(c.body))
			}
			if fmt.Sprint(got["pieces"]) != c.pieces {
				t.Errorf("pieces = %v, want %s", got["pieces"], c.pieces)
			}
			// Reading past the end returns b"" at once, never blocks.
			if fmt.Sprint(got["after_end"]) != "[0 0 0]" {
				t.Errorf("reads after the end returned %v bytes", got["after_end"])
			}
			if c.chunked && got["content_length"] != nil {
				t.Errorf("chunked body has CONTENT_LENGTH %v", got["content_length"])
			}
		})
	}
	t.Run("read(n)", func(t *testing.T) {
		body := randomBytes(t, 100000)
		_, out := s.do(t, "POST", "/echo?mode=readn&n=4096", bytes.NewReader(body))
		got := jsonOf(t, out)
		total := 0.0
		for _, p := range got["pieces"].([]any) {
			total += p.(float64)
		}
		if total != float64(len(body)) {
			t.Errorf("read(4096) loop got %v bytes, sent %d", total, len(body))
		}
	})
}

func TestResponses(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "2")
	t.Run("generator streams chunked", func(t *testing.T) {
		resp, body := s.get(t, "/stream?n=50")
		want := ""
		for i := 0; i < 50; i++ {
			want += fmt.Sprintf("chunk %d\n", i)
		}
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Errorf("no Content-Length from the app: want chunked, got %v (CL %d)", resp.TransferEncoding, resp.ContentLength)
		}
		if resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("write callable", func(t *testing.T) {
		resp, body := s.get(t, "/write")
		if resp.StatusCode != 200 || string(body) != "written then returned\n" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
	})
	t.Run("list gets a Content-Length", func(t *testing.T) {
		resp, body := s.get(t, "/cookies")
		if resp.ContentLength != int64(len(body)) || string(body) != "two cookies\n" {
			t.Errorf("CL %d body %q", resp.ContentLength, body)
		}
		if got := resp.Header.Values("Set-Cookie"); fmt.Sprint(got) != "[a=1 b=2]" {
			t.Errorf("Set-Cookie = %v", got)
		}
		if _, ok := resp.Header["Content-Type"]; ok && resp.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("no Content-Type is not invented", func(t *testing.T) {
		resp, _ := s.get(t, "/environ")
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("HEAD sends no body", func(t *testing.T) {
		resp, body := s.do(t, "HEAD", "/head", nil)
		if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 26 {
			t.Errorf("HEAD: status %d, %d body bytes, CL %d", resp.StatusCode, len(body), resp.ContentLength)
		}
		// The connection stays usable: the next request on it is answered correctly.
		resp, body = s.get(t, "/head")
		if resp.StatusCode != 200 || string(body) != "a body HEAD must not send\n" {
			t.Errorf("GET after HEAD: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("close is called", func(t *testing.T) {
		resp, body := s.get(t, "/close?name=plain")
		if resp.StatusCode != 200 || string(body) != "ab" {
			t.Fatalf("status %d body %q", resp.StatusCode, body)
		}
		_, closed := s.get(t, "/closed")
		if !strings.Contains(string(closed), `"plain"`) {
			t.Errorf("close() not called: %s", closed)
		}
	})
}

func TestFileWrapper(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py")
	content := randomBytes(t, 5<<20+3)
	path := filepath.Join(t.TempDir(), "blob.bin")
	writeFile(t, path, content)
	cases := []struct {
		name, query string
		want        []byte
	}{
		{"whole file", "path=" + path, content},
		{"from the file position", "path=" + path + "&skip=1000", content[1000:]},
		{"app Content-Length", "path=" + path + "&skip=10&length=100", content[10:110]},
		{"BytesIO falls back to iteration", "bytesio=1", bytes.Repeat([]byte("from a BytesIO\n"), 100)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.get(t, "/filewrapper?"+c.query)
			if resp.StatusCode != 200 || !bytes.Equal(body, c.want) {
				t.Fatalf("status %d: got %d bytes, want %d", resp.StatusCode, len(body), len(c.want))
			}
		})
	}
	// A real file goes out with sendfile: Python never reads it (a file whose read() records
	// its calls stays unread), and the bytes still arrive.
	if resp, body := s.get(t, "/filewrapper?tracked=1&path="+path); resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Fatalf("tracked file: status %d, %d bytes", resp.StatusCode, len(body))
	}
	if _, n := s.get(t, "/python-reads"); string(n) != "0" {
		t.Errorf("Python read the file_wrapper'd file %s times; sendfile should have sent it", n)
	}
	resp, body := s.do(t, "HEAD", "/filewrapper?path="+path, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(content)) {
		t.Errorf("HEAD file_wrapper: status %d, %d bytes, CL %d", resp.StatusCode, len(body), resp.ContentLength)
	}
}

// TestAppErrors: every way an app can break costs only its own request.
func TestAppErrors(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "2")
	cases := []struct{ path, logWants string }{
		{"/error/raise", "boom from the app"},
		{"/error/non-iterable", "'int' object is not iterable"},
		{"/error/double-start", "start_response() called a second time"},
		{"/error/bad-status", "must be a 3-digit code"},
		{"/error/bad-status?s=200OK", "must be a 3-digit code"},
		{"/error/header-type", "header value must be str"},
		{"/error/crlf", "control character"},
		{"/error/non-latin1", "is not latin-1"},
		{"/error/headers-not-list", "must be a list"},
		{"/error/hop", "hop-by-hop header"},
		{"/error/hop?h=Transfer-Encoding", "hop-by-hop header"},
		{"/error/no-start", "without calling start_response"},
		{"/error/no-start-empty", "without calling start_response"},
		{"/error/yield-str", "WSGI bodies are bytes"},
		{"/error/return-bytes", "the app returned bytes itself; return an iterable of bytes, e.g. [body]"},
		{"/error/exit", "SystemExit"},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.path, "/error/"), func(t *testing.T) {
			resp, body := s.get(t, c.path)
			if resp.StatusCode != 500 {
				t.Errorf("status %d, want 500; body %q", resp.StatusCode, body)
			}
			if strings.Contains(string(body), "never") || strings.Contains(string(body), "evil") {
				t.Errorf("the broken response leaked: %q", body)
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("injected header reached the client")
			}
			waitForLog(t, s, c.logWants)
			// The next request is served normally.
			if resp, _ := s.get(t, "/head"); resp.StatusCode != 200 {
				t.Fatalf("after %s the server answers %d", c.path, resp.StatusCode)
			}
		})
	}
	t.Run("exc_info replaces the response before headers are sent", func(t *testing.T) {
		resp, body := s.get(t, "/error/exc-info")
		if resp.StatusCode != 503 || string(body) != "handled with exc_info\n" {
			t.Errorf("status %d body %q", resp.StatusCode, body)
		}
	})
	for _, path := range []string{"/error/midstream", "/error/exc-info-late", "/error/close-raises",
		"/error/midstream-close"} {
		t.Run(path+" aborts the connection", func(t *testing.T) {
			raw := rawRequest(t, s, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if !strings.HasPrefix(raw, "HTTP/1.1 200 OK") {
				t.Fatalf("response %q", raw)
			}
			if strings.Contains(raw, "never reached") || strings.HasSuffix(raw, "0\r\n\r\n") {
				t.Errorf("an incomplete response was finished as if complete: %q", raw)
			}
			waitForLog(t, s, "after the response started")
		})
	}
	// An iterable that raised mid-stream was still closed.
	if _, closed := s.get(t, "/closed"); !strings.Contains(string(closed), `"midstream"`) {
		t.Errorf("close() not called after the app raised mid-stream: %s", closed)
	}
	// A traceback names the file and line.
	if !strings.Contains(s.Log.String(), "pep3333.py") {
		t.Errorf("tracebacks lack file names:\n%s", s.Log)
	}
}

func TestClientDisconnectClosesIterable(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py")
	conn := dial(t, s)
	_, _ = io.WriteString(conn, "GET /slow-stream?name=gone&n=500 HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 4096)
	if _, err := io.ReadAtLeast(conn, buf, 100); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := s.get(t, "/closed")
		if strings.Contains(string(body), `"gone"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("close() not called after the client went away: %s\n%s", body, s.Log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ := s.get(t, "/head"); resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after a disconnect: %d", resp.StatusCode)
	}
}

// TestClientGoneMidUpload: a client that promises a body and hangs up halfway costs only its
// own request: the app's read raises OSError, and the server goes on.
func TestClientGoneMidUpload(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py")
	conn := dial(t, s)
	_, _ = io.WriteString(conn, "POST /echo?mode=read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	_, _ = conn.Write(bytes.Repeat([]byte("a"), 1000))
	conn.Close()
	waitForLog(t, s, "client disconnected mid-request")
	if resp, body := s.get(t, "/head"); resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("server unhealthy after an abandoned upload: %d", resp.StatusCode)
	}
}

// TestRawHeaderBytes: request-header bytes outside ASCII reach the app as latin-1 str, as
// PEP 3333 prescribes for native strings.
func TestRawHeaderBytes(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py")
	raw := rawRequest(t, s, "GET /environ HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\nConnection: close\r\n\r\n")
	_, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok || !strings.HasPrefix(raw, "HTTP/1.1 200") {
		t.Fatalf("response %q", raw)
	}
	env := jsonOf(t, []byte(body))
	if env["HTTP_X_NAME"] != "caf\u00e9" {
		t.Errorf("HTTP_X_NAME = %q, want latin-1 decoded %q", env["HTTP_X_NAME"], "caf\u00e9")
	}
}

// TestWriteFromAppThreads: write() called by several app threads at once reaches the client
// whole, each 1000-byte block intact (the C side serialises its calls into Go).
func TestWriteFromAppThreads(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py")
	for round := 0; round < 5; round++ {
		resp, body := s.get(t, "/threaded-write")
		if resp.StatusCode != 200 || len(body) != 4*50*1000 {
			t.Fatalf("status %d, %d bytes, want 200000", resp.StatusCode, len(body))
		}
		for i := 0; i < len(body); i += 1000 {
			block := body[i : i+1000]
			if bytes.Count(block, block[:1]) != 1000 {
				t.Fatalf("block %d is interleaved: %q…", i/1000, block[:40])
			}
		}
	}
}
