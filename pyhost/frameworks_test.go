package pyhost_test

// Real frameworks (Flask, Django, Bottle, Falcon, from Debian's python3-* packages) served by
// the real binary: each app under testdata/frameworks/ answers the same endpoints, and
// testFramework drives them over HTTP. Django adds a CSRF-protected form and an sqlite model.
// Flask also runs in an own-GIL or free-threaded mode, Django in a sub-interpreter.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fwDir holds the framework apps and fwcommon.py, which they import.
var fwDir = repoPath("testdata", "frameworks")

func TestFlask(t *testing.T) { testFrameworkScript(t, "flask", "flask_app.py", http.StatusFound) }

func TestBottle(t *testing.T) {
	// Bottle answers redirect() with 303 on HTTP/1.1.
	testFrameworkScript(t, "bottle", "bottle_app.py", http.StatusSeeOther)
}

func TestFalcon(t *testing.T) { testFrameworkScript(t, "falcon", "falcon_app.py", http.StatusFound) }

func TestDjango(t *testing.T) { testDjango(t) }

// Django in a shared-GIL sub-interpreter on the system Python.
func TestDjangoSubinterpreter(t *testing.T) {
	s := testDjango(t, "--application-group", "django")
	if !strings.Contains(s.Log.String(), "group=django") {
		t.Errorf("Django did not load in group django:\n%s", s.Log)
	}
}

// Flask (pure Python, Debian's dist-packages on the python-path) in an own-GIL sub-interpreter
// on ≥ 3.12 and in free mode on a free-threaded build.
func TestFlaskInMode(t *testing.T) {
	mode := ownOrFree(t, "Flask in own/free mode (TestFlask and TestDjangoSubinterpreter cover 3.11)")
	s := startServer(t, filepath.Join(fwDir, "flask_app.py"), "--gil", mode,
		"--python-path", fwDir, "--python-path", debianDistPackages, "--threads", "4")
	testFramework(t, s, "flask", http.StatusFound)
}

// testFrameworkScript serves testdata/frameworks/FILE (callable application) with 4 threads on
// the system Python and runs testFramework against it.
func testFrameworkScript(t *testing.T, name, file string, redirect int) {
	needSystemPython(t, t.Name())
	s := startServer(t, filepath.Join(fwDir, file), "--python-path", fwDir, "--threads", "4")
	testFramework(t, s, name, redirect)
}

// testDjango serves the Django site with 4 threads (and args) on the system Python, runs
// testFramework and the CSRF form against it, and returns the server.
func testDjango(t *testing.T, args ...string) *server {
	needSystemPython(t, t.Name())
	// settings.py reads the database path from the environment pyhost inherits.
	t.Setenv("PYHOST_DJANGO_DB", filepath.Join(t.TempDir(), "db.sqlite3"))
	s := startServer(t, append([]string{"djangosite.wsgi:application", "--chdir", fwDir,
		"--python-path", fwDir, "--threads", "4"}, args...)...)
	testFramework(t, s, "django", http.StatusFound)
	t.Run("csrf form and sqlite model", func(t *testing.T) { testDjangoCSRF(t, s) })
	return s
}

// testFramework runs the checks every framework app answers alike. name is the app's own name
// (in its index text and error message); redirect is the status its redirect uses.
func testFramework(t *testing.T, s *server, name string, redirect int) {
	t.Run("routing", func(t *testing.T) {
		resp, body := s.get(t, "/")
		fwWantText(t, resp, body, http.StatusOK, "index "+name+"\n")
		// PATH_INFO carries the UTF-8 bytes as latin-1 (PEP 3333); the framework decodes them.
		resp, body = s.get(t, "/hello/J%C3%BCrgen")
		fwWantText(t, resp, body, http.StatusOK, "hello Jürgen\n")
		resp, body = s.get(t, "/no/such/page")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /no/such/page: status %d, want 404; body %q", resp.StatusCode, body)
		}
	})

	t.Run("query string", func(t *testing.T) {
		resp, body := s.get(t, "/query?a=1&b=hello+world&a=2&c=%C3%A9&amp=x%26y%3Dz&empty=")
		fwWantJSON(t, resp, body, map[string][]string{
			"a": {"1", "2"}, "b": {"hello world"}, "c": {"é"}, "amp": {"x&y=z"}, "empty": {""},
		})
	})

	t.Run("cookies", func(t *testing.T) {
		resp, body := s.get(t, "/cookie/set")
		fwWantText(t, resp, body, http.StatusOK, "cookie set\n")
		var got *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "flavor" {
				got = c
			}
		}
		if got == nil || got.Value != "chocolate-chip" || got.Path != "/" {
			t.Errorf("Set-Cookie %q: want flavor=chocolate-chip; Path=/", resp.Header.Values("Set-Cookie"))
		}
		resp, body = s.get(t, "/cookie/get", "Cookie", "other=1; flavor=oatmeal")
		fwWantJSON(t, resp, body, map[string]any{"flavor": "oatmeal"})
		resp, body = s.get(t, "/cookie/get")
		fwWantJSON(t, resp, body, map[string]any{"flavor": nil})
	})

	t.Run("redirect", func(t *testing.T) {
		noFollow := &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		resp, err := noFollow.Get(s.URL + "/redirect")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != redirect {
			t.Fatalf("GET /redirect: status %d, want %d", resp.StatusCode, redirect)
		}
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET /redirect: Location %q: %v", resp.Header.Get("Location"), err)
		}
		if loc.Path != "/hello/redirected" || loc.Host != strings.TrimPrefix(s.URL, "http://") {
			t.Fatalf("GET /redirect: Location %q resolves to %s, want %s/hello/redirected",
				resp.Header.Get("Location"), loc, s.URL)
		}
		resp, body := s.get(t, loc.RequestURI())
		fwWantText(t, resp, body, http.StatusOK, "hello redirected\n")
	})

	t.Run("app error is a 500 and logged", func(t *testing.T) {
		resp, body := s.get(t, "/error")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET /error: status %d, want 500; body %q", resp.StatusCode, body)
		}
		waitForLog(t, s, "Traceback (most recent call last)")
		waitForLog(t, s, "RuntimeError: boom from "+name)
		resp, body = s.get(t, "/")
		fwWantText(t, resp, body, http.StatusOK, "index "+name+"\n")
	})

	t.Run("urlencoded form", func(t *testing.T) {
		form := url.Values{
			"name":  {"José"},
			"tags":  {"a", "b"},
			"empty": {""},
			"odd":   {"a+b&c=d %"},
		}
		resp, body := s.do(t, http.MethodPost, "/form", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
		fwWantJSON(t, resp, body, map[string][]string(form))
	})

	t.Run("5 MiB multipart upload", func(t *testing.T) {
		data := make([]byte, 5<<20)
		_, _ = rand.Read(data)
		sum := sha256.Sum256(data)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("note", "five mebibytes")
		fw, err := mw.CreateFormFile("file", "blob.bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(data)
		_ = mw.Close()
		resp, body := s.do(t, http.MethodPost, "/upload", &buf, "Content-Type", mw.FormDataContentType())
		fwWantJSON(t, resp, body, map[string]any{
			"sha256":   hex.EncodeToString(sum[:]),
			"size":     float64(len(data)),
			"filename": "blob.bin",
			"note":     "five mebibytes",
		})
	})

	t.Run("streamed response", func(t *testing.T) {
		const n = 2000
		var want strings.Builder
		want.WriteString("streaming /stream\n")
		for i := range n {
			fmt.Fprintf(&want, "line %d of %d\n", i, n)
		}
		resp, body := s.get(t, fmt.Sprintf("/stream?n=%d", n))
		fwWantText(t, resp, body, http.StatusOK, want.String())
	})

	t.Run("streamed chunks reach the client before the iterable ends", func(t *testing.T) {
		testGatedStream(t, s, name)
	})

	t.Run("concurrent requests keep their own request", func(t *testing.T) {
		// Frameworks keep the current request in thread-locals or contextvars: with 4
		// threads, every answer must still echo its own query.
		id := func(g, i int) string { return fmt.Sprintf("%d-%d", g, i) }
		for _, err := range concurrentGets(s, 8, 8,
			func(g, i int) string { return "/query?id=" + id(g, i) },
			func(g, i int) string { return `{"id": ["` + id(g, i) + `"]}` }) {
			t.Error(err)
		}
	})
}

// testGatedStream reads the first lines of /stream/gated, whose generator then waits for
// /gate/release: a server that holds the blocks back until the iterable ends (PEP 3333: "must
// not delay the transmission of any block") leaves the client waiting until the app gives up
// (fwcommon.GATE_TIMEOUT, 10 s) and writes "gate timed out".
func testGatedStream(t *testing.T, s *server, name string) {
	key := name + "-gate"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/stream/gated?key="+key, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /stream/gated: %v\nserver log:\n%s", err, s.Log)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /stream/gated: status %d", resp.StatusCode)
	}
	var got strings.Builder
	br := bufio.NewReader(resp.Body)
	start := time.Now()
	for !strings.HasSuffix(got.String(), "before 4\n") {
		line, err := br.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			t.Fatalf("reading the first lines of /stream/gated: %v; got %q", err, got.String())
		}
	}
	if strings.Contains(got.String(), "gate timed out") {
		t.Fatalf("the first 5 lines of /stream/gated arrived only after the generator ended "+
			"(%.1fs, the app's gate timed out): the server delayed the blocks; got %q",
			time.Since(start).Seconds(), got.String())
	}
	rresp, rbody := s.get(t, "/gate/release?key="+key)
	fwWantText(t, rresp, rbody, http.StatusOK, "released "+key+"\n")
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("reading the rest of /stream/gated: %v", err)
	}
	got.Write(rest)
	want := "before 0\nbefore 1\nbefore 2\nbefore 3\nbefore 4\n" +
		"after 0\nafter 1\nafter 2\nafter 3\nafter 4\n"
	if got.String() != want {
		t.Errorf("GET /stream/gated: body %q, want %q", got.String(), want)
	}
}

var fwCSRFInputRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// testDjangoCSRF: a form rendered with {% csrf_token %} (CsrfViewMiddleware on) posts back
// with its cookie and hidden token; without either it is refused. The posts add rows to an
// sqlite table that another view lists.
func testDjangoCSRF(t *testing.T, s *server) {
	resp, body := s.get(t, "/notes/new")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /notes/new: status %d; body %q", resp.StatusCode, body)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "csrftoken" {
			cookie = c.Value
		}
	}
	m := fwCSRFInputRE.FindSubmatch(body)
	if cookie == "" || m == nil {
		t.Fatalf("GET /notes/new: no csrftoken cookie (Set-Cookie %q) or no hidden input in %q",
			resp.Header.Values("Set-Cookie"), body)
	}
	token := string(m[1])
	post := func(form url.Values, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		hdr = append(hdr, "Content-Type", "application/x-www-form-urlencoded")
		return s.do(t, http.MethodPost, "/notes/", strings.NewReader(form.Encode()), hdr...)
	}

	resp, body = post(url.Values{"title": {"first note"}, "csrfmiddlewaretoken": {token}},
		"Cookie", "csrftoken="+cookie)
	fwWantJSON(t, resp, body, map[string]any{"created": float64(1), "title": "first note"})

	// The token may come in the X-CSRFToken header instead of the form.
	resp, body = post(url.Values{"title": {"second note"}}, "Cookie", "csrftoken="+cookie,
		"X-CSRFToken", cookie)
	fwWantJSON(t, resp, body, map[string]any{"created": float64(2), "title": "second note"})

	resp, body = post(url.Values{"title": {"forged: no token"}}, "Cookie", "csrftoken="+cookie)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /notes/ without the token: status %d, want 403; body %q", resp.StatusCode, body)
	}
	resp, body = post(url.Values{"title": {"forged: no cookie"}, "csrfmiddlewaretoken": {token}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /notes/ without the cookie: status %d, want 403; body %q", resp.StatusCode, body)
	}

	resp, body = s.get(t, "/notes/")
	fwWantJSON(t, resp, body, map[string]any{"notes": []any{"first note", "second note"}})
}

// fwWantText checks status and exact body.
func fwWantText(t *testing.T, resp *http.Response, body []byte, status int, want string) {
	t.Helper()
	if resp.StatusCode != status || string(body) != want {
		t.Errorf("%s %s: %d %q, want %d %q", resp.Request.Method, resp.Request.URL.RequestURI(),
			resp.StatusCode, fwTruncate(body), status, fwTruncate([]byte(want)))
	}
}

// fwWantJSON checks a 200 whose JSON body decodes into a value equal to want (of want's type).
func fwWantJSON[T any](t *testing.T, resp *http.Response, body []byte, want T) {
	t.Helper()
	where := resp.Request.Method + " " + resp.Request.URL.RequestURI()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: status %d, want 200; body %q", where, resp.StatusCode, fwTruncate(body))
		return
	}
	var got T
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("%s: body %q is not the JSON expected: %v", where, fwTruncate(body), err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", where, got, want)
	}
}

func fwTruncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
