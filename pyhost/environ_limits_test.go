package pyhost_test

// Request headers at and past the sizes the packed environ once got wrong. Key lengths were
// packed in 16 bits: a header name of 65,531 bytes made "HTTP_" + name exactly 65,536 bytes,
// which wrapped to 0, and the C decoder then read the name's bytes as lengths and walked off
// the buffer (SIGSEGV: one request took the whole server down).

import (
	"net/http"
	"strings"
	"testing"
)

// headerName is a valid header name (a token) of n bytes, canonical as net/http sends it.
func headerName(n int) string {
	return "X-" + strings.Repeat("a", n-2)
}

// environKey is the CGI key a header name becomes: HTTP_, upper case, '-' as '_'.
func environKey(name string) string {
	return "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func TestHugeHeaderNameServedOrRefused(t *testing.T) {
	s := startServer(t, "testdata/pep3333.py", "--threads", "2")
	for _, n := range []int{65530, 65531, 65532, 70000, 131072 - 5} {
		name := headerName(n)
		value := "value-of-" + strings.Repeat("v", n%97)
		resp, body := s.get(t, "/environ", name, value)
		switch resp.StatusCode {
		case http.StatusOK:
			env := jsonOf(t, body)
			key := environKey(name)
			if got, ok := env[key]; !ok || got != value {
				t.Errorf("name of %d bytes: environ[HTTP_X_AAA… (%d bytes)] = %.40q (present: %v), "+
					"want %q", n, len(key), got, ok, value)
			}
			// No other key may have been carved out of the long one.
			for k := range env {
				if strings.HasPrefix(k, "HTTP_X_AA") && k != key {
					t.Errorf("name of %d bytes: stray environ key of %d bytes", n, len(k))
				}
			}
		case http.StatusRequestHeaderFieldsTooLarge:
			// A header-size limit refused it before the app: a clear answer, also fine.
		default:
			t.Errorf("name of %d bytes: status %d, want 200 (header intact) or 431; body %.200q",
				n, resp.StatusCode, body)
		}
		// The server lives on and serves an ordinary request.
		resp, body = s.get(t, "/environ", "X-Ordinary", "yes")
		if resp.StatusCode != http.StatusOK || jsonOf(t, body)["HTTP_X_ORDINARY"] != "yes" {
			t.Fatalf("after a header name of %d bytes: ordinary request got %d %.200q\nlog:\n%s",
				n, resp.StatusCode, body, s.Log)
		}
	}
}
