package pyhost_test

// App threads that outlive their request (testdata/outlive.py): they keep start_response, its
// write() and wsgi.input and use them after, or while, the request ends. Each late call must
// get a clear Python exception — never the memory or the connection of the next request on the
// same request thread — and the server must go on serving and shut down cleanly.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// lateCallError is what every late call must raise: the request's C state says it is over.
const lateCallError = "RuntimeError: "

// outcome asks the app how a thread's last call ended.
func outcome(t *testing.T, s *server, path string) string {
	t.Helper()
	status, body, ok := fetch(t, s, "GET", path, nil)
	if ok && status != http.StatusOK {
		t.Errorf("GET %s: status %d: %s", path, status, body)
	}
	return strings.TrimSpace(string(body))
}

// wantLate checks that a thread's call after its request ended raised a RuntimeError that says
// so.
func wantLate(t *testing.T, what, got string) {
	t.Helper()
	if !strings.HasPrefix(got, lateCallError) || !strings.Contains(got, "after the request ended") {
		t.Errorf("%s after the request ended: thread recorded %q, want a RuntimeError saying "+
			"the request ended", what, got)
	}
}

// A call made once the request is over raises, for each of the three objects an app thread can
// keep.
func TestLateCallsFromAppThreadsRaise(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/outlive.py", "--threads", "2")...)
	body := randomBytes(t, 100_000)
	for i, c := range []struct{ what, method, path string }{
		{"write()", "GET", "/write-later"},
		{"start_response()", "GET", "/start-response-later"},
		{"wsgi.input.read()", "POST", "/read-later"},
	} {
		key := fmt.Sprint(i)
		status, out, ok := fetch(t, s, c.method, c.path+"?id="+key, body)
		if !ok || status/100 != 2 {
			t.Fatalf("%s %s: status %d: %s", c.method, c.path, status, out)
		}
		// Other requests reuse the request thread's state before the late call is let go.
		plainRequestServed(t, s)
		plainRequestServed(t, s)
		wantLate(t, c.what, outcome(t, s, "/release?id="+key))
	}
	plainRequestServed(t, s)
}

// An app thread that calls write() — or start_response() — in a loop while its request ends:
// the writes in flight at the end finish on the request's own connection, the next call raises.
func TestLateCallsRacingTheEndOfTheirRequest(t *testing.T) {
	for _, c := range []struct {
		what, path string
		ok         func(status int, body []byte) bool
	}{
		{"write()", "/write-race", func(status int, body []byte) bool {
			return status == http.StatusOK && len(body) > 0 && len(bytes.Trim(body, "x")) == 0
		}},
		{"start_response()", "/start-response-race", func(status int, body []byte) bool {
			return (status == 200 || status == 500) && string(body) == "body\n"
		}},
	} {
		t.Run(c.what, func(t *testing.T) {
			s := startServer(t, freeThreadedArgs("testdata/outlive.py", "--threads", "2")...)
			hammer(t, 60, 3, func(i int) {
				if i%3 != 0 {
					plainRequestServed(t, s)
					return
				}
				key := fmt.Sprint(i)
				status, body, ok := fetch(t, s, "GET", c.path+"?id="+key, nil)
				if ok && !c.ok(status, body) {
					t.Errorf("%s: status %d, %d bytes of body %.80q", c.path, status, len(body), body)
				}
				wantLate(t, c.what, outcome(t, s, "/outcome?id="+key))
			})
			plainRequestServed(t, s)
		})
	}
}

// The upload pattern: the app hands wsgi.input to a worker thread and answers 202 at once. The
// thread reads what it can while the request lasts; a read after the end raises.
func TestUploadHandedToAThreadAnswered202(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/outlive.py", "--threads", "2")...)
	const size = 64 << 10
	body := randomBytes(t, size)
	hammer(t, 200, 8, func(i int) {
		key := fmt.Sprint(i)
		status, out, ok := fetch(t, s, "POST", "/read-race?id="+key, body)
		if ok && (status != http.StatusAccepted || string(out) != "accepted\n") {
			t.Errorf("/read-race: status %d, body %q", status, out)
		}
		got := outcome(t, s, "/outcome?id="+key)
		if got != fmt.Sprintf("read %d bytes", size) {
			wantLate(t, "wsgi.input.read()", got)
		}
	})
	plainRequestServed(t, s)
}
