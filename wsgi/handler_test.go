package wsgi

import (
	"net/http/httptest"
	"sync"
	"testing"
)

// TestParallelBufferedResponses: a buffered response gives its request thread back before it
// is written; the next request on that thread must never see (or free) the previous one's
// response, whatever the interleaving.
func TestParallelBufferedResponses(t *testing.T) {
	h := benchHandler(t, "hello.py")
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3000; i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/hello", nil))
				if w.Code != 200 || w.Body.String() != "Hello, World!\n" ||
					w.Header().Get("Content-Length") != "14" {
					errs <- w.Body.String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a response was mixed up with another request's: %q", e)
	}
}
