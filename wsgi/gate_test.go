package wsgi

import (
	"net/http/httptest"
	"testing"
	"time"
)

// The GIL gate's probe reads CPython's own GIL flag through internal headers: it must see a
// request that holds the GIL as held, and the GIL as free once no Python runs. A wrong layout
// (another CPython version) would read a constant and the gate would wait its full
// GateMaxWait at every handoff, or never wait at all.
func TestGILProbeSeesARequestHoldingTheGIL(t *testing.T) {
	h := benchHandler(t, "gilprobe.py")
	gilOn := httptest.NewRecorder()
	h.ServeHTTP(gilOn, httptest.NewRequest("GET", "/gil", nil))
	if gilOn.Body.String() == "0" {
		// A free-threaded build with the GIL off (the default of this package's runtime
		// there; PYTHON_GIL=1 turns it on): no GIL, no gate.
		t.Skip("this interpreter runs without a GIL")
	}
	main := mainInterp(t)
	done := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/spin?ms=1500", nil))
		done <- w.Code
	}()
	sawHeld := false
	for deadline := time.Now().Add(10 * time.Second); !sawHeld && time.Now().Before(deadline); {
		select {
		case code := <-done:
			t.Fatalf("request ended (status %d) before the probe ever saw the GIL held", code)
		default:
		}
		sawHeld = main.GILHeld()
		time.Sleep(time.Millisecond)
	}
	if !sawHeld {
		t.Fatal("the probe never saw the GIL held while a request spun in Python")
	}
	if code := <-done; code != 200 {
		t.Fatalf("spinning request answered %d", code)
	}
	// Nothing runs Python now (the test process has no Python threads of its own).
	free := false
	for deadline := time.Now().Add(10 * time.Second); !free && time.Now().Before(deadline); {
		free = !main.GILHeld()
		time.Sleep(time.Millisecond)
	}
	if !free {
		t.Fatal("the probe still reports the GIL held with no request in Python")
	}
}
