package wsgi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyhost/pyhost/cgo"
)

// waitBusy polls the table until a request for path is busy in it (the request's goroutine
// has started it) and returns that entry.
func waitBusy(t *testing.T, table *ThreadTable, path string, stacks bool, wait time.Duration) RequestThread {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for _, rt := range table.Busy(stacks, wait) {
			if rt.Path == path {
				return rt
			}
		}
	}
	t.Fatalf("no busy request thread for %s in the table after 10s", path)
	return RequestThread{}
}

func serveInBackground(h *Handler, target string) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	}()
	return &wg
}

// TestThreadTableStack: a request sleeping in the app is in the table, with its method, path,
// request id, group and interpreter, and its stack names the app's function.
func TestThreadTableStack(t *testing.T) {
	h := benchHandler(t, "threads.py")
	h.Table = NewThreadTable(h.Threads.Threads())
	done := serveInBackground(h, "/sleep?ms=1500")
	defer done.Wait()
	rt := waitBusy(t, h.Table, "/sleep", true, 2*time.Second)
	for i := 0; i < 100 && !strings.Contains(rt.Stack, "sleeping_in_the_app"); i++ {
		time.Sleep(10 * time.Millisecond) // the thread may not have reached the app yet
		if rts := h.Table.Busy(true, 2*time.Second); len(rts) == 1 {
			rt = rts[0]
		}
	}
	if rt.Method != http.MethodGet || rt.ApplicationGroup != "%{GLOBAL}" || rt.Interpreter != 0 ||
		!strings.HasPrefix(rt.RequestID, idPrefix) || rt.RunningSeconds < 0 {
		t.Errorf("busy entry = %+v, want GET /sleep in %%{GLOBAL} interpreter 0 with an id", rt)
	}
	if !strings.Contains(rt.Stack, "sleeping_in_the_app") || !strings.Contains(rt.Stack, "threads.py") {
		t.Errorf("stack does not show the app's function sleeping_in_the_app:\n%s (error: %s)",
			rt.Stack, rt.StackError)
	}
	done.Wait()
	for _, rt := range h.Table.Busy(false, 0) {
		t.Errorf("request thread still busy after the request ended: %+v", rt)
	}
}

// TestThreadTableStackGILHeld: a request holding its interpreter's GIL in C code does not hold
// up the stack request past its bound; the entry says why the stack is missing, and a second
// request does not start another wait for the same GIL.
func TestThreadTableStackGILHeld(t *testing.T) {
	h := benchHandler(t, "threads.py")
	h.Table = NewThreadTable(h.Threads.Threads())
	done := serveInBackground(h, "/hold?ms=3000")
	defer done.Wait()
	waitBusy(t, h.Table, "/hold", false, 0)
	time.Sleep(300 * time.Millisecond) // into usleep, with the GIL
	finished := make(chan []RequestThread, 1)
	go func() { finished <- h.Table.Busy(true, 200*time.Millisecond) }()
	var rts []RequestThread
	select {
	case rts = <-finished:
	case <-time.After(2500 * time.Millisecond):
		t.Fatal("the stack request did not come back while the GIL was held: it waits for the GIL unbounded")
	}
	if len(rts) != 1 || rts[0].Stack != "" || !strings.Contains(rts[0].StackError, "did not come free") {
		t.Fatalf("with the GIL held: %+v, want one entry without a stack saying the GIL did not come free", rts)
	}
	again := h.Table.Busy(true, 200*time.Millisecond)
	if len(again) != 1 || !strings.Contains(again[0].StackError, "still waits") {
		t.Errorf("second stack request: %+v, want it to say the first still waits", again)
	}
	done.Wait()
	if !h.Table.WaitProbes(5 * time.Second) {
		t.Error("the stack probe still waits after the GIL came free")
	}
}

// BenchmarkThreadTableBeginEnd is the Go side of the table's cost per request (the watch's
// two uncontended locks in C come on top: BenchmarkHelloThreadTable has them).
func BenchmarkThreadTableBeginEnd(b *testing.B) {
	table := NewThreadTable(8)
	call := cgo.NewCall()
	r := httptest.NewRequest("GET", "/", nil)
	since := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		table.begin(3, call, r, "0123abcd-1", nil, since)
		table.end(3)
	}
}

// TestThreadTableReadWhileServing: reading the table while every request thread starts and
// ends requests sees only whole entries (under -race: no data race between the request
// threads' stores and the reader).
func TestThreadTableReadWhileServing(t *testing.T) {
	h := benchHandler(t, "hello.py")
	h.Table = NewThreadTable(h.Threads.Threads())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p/"+strconv.Itoa(i), nil))
			}
		}()
	}
	reads := make(chan int)
	go func() {
		n := 0
		defer func() { reads <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, rt := range h.Table.Busy(false, 0) {
				n++
				if rt.Method != "GET" || !strings.HasPrefix(rt.Path, "/p/") ||
					!strings.HasPrefix(rt.RequestID, idPrefix) || rt.ApplicationGroup != "%{GLOBAL}" {
					t.Errorf("torn entry: %+v", rt)
					return
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	t.Logf("%d busy entries read while serving", <-reads)
}
