package observe

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Wrap tells each observer the status and body bytes of every answered request, and of one
// whose handler panicked (which it passes on).
func TestWrapObserves(t *testing.T) {
	var got []Finished
	note := func(f *Finished) { got = append(got, *f) }
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("hello"))
	}), []Observer{note})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the handler's panic was not passed on")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	}()
	if len(got) != 2 {
		t.Fatalf("observed %d requests, want 2", len(got))
	}
	if f := got[0]; f.Status != http.StatusCreated || f.Bytes != 5 || f.Aborted || f.WSGI.Interp != -1 {
		t.Errorf("observed %+v, want status 201, 5 bytes, not aborted, no WSGI record", f)
	}
	if f := got[1]; !f.Aborted || f.Status != 0 {
		t.Errorf("observed %+v, want aborted with no status", f)
	}
	if Wrap(plainHandler{}, nil) != (plainHandler{}) {
		t.Error("Wrap without observers did not return the handler unchanged")
	}
}

type plainHandler struct{}

func (plainHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}
