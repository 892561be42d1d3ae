package pyhost_test

// App threads that change the body or header list pyhost is reading, or write() at the same
// time as each other (testdata/shared_objects.py). With a GIL these are merely odd; on a
// free-threaded build every item read without a strong reference or a lock can be freed under
// the reader, and two writers must not interleave inside a chunk.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestBodyListChangedWhileDrained(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/shared_objects.py", "--threads", "2")...)
	const chunk = 256 << 10 // testdata/shared_objects.py's CHUNK
	hammer(t, 20, 2, func(int) {
		status, body, ok := fetch(t, s, "GET", "/mutating-body", nil)
		if !ok {
			return
		}
		if status != http.StatusOK || len(body) == 0 || len(body)%chunk != 0 {
			t.Errorf("status %d, %d bytes: want 200 and whole %d-byte chunks", status, len(body),
				chunk)
			return
		}
		for off := 0; off < len(body); off += chunk {
			c := body[off : off+chunk]
			if c[0] < 'a' || c[0] > 'z' || len(bytes.Trim(c, string(c[:1]))) != 0 {
				t.Errorf("chunk at %d is not one letter repeated (freed or torn memory?): %.40q",
					off, c)
				return
			}
		}
	})
	plainRequestServed(t, s)
}

func TestHeaderListChangedWhileStartResponseReadsIt(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/shared_objects.py", "--threads", "2")...)
	hammer(t, 6, 2, func(int) {
		status, body, ok := fetch(t, s, "GET", "/mutating-headers", nil)
		if ok && (status != http.StatusOK || string(body) != "headers survived\n") {
			t.Errorf("status %d, body %q", status, body)
		}
	})
	plainRequestServed(t, s)
}

func TestConcurrentWritesFromAppThreads(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/shared_objects.py", "--threads", "2")...)
	const threads, writes, size = 4, 200, 64
	hammer(t, 10, 2, func(int) {
		status, body, ok := fetch(t, s, "GET",
			fmt.Sprintf("/concurrent-write?threads=%d&writes=%d", threads, writes), nil)
		if !ok {
			return
		}
		if status != http.StatusOK || len(body) != threads*writes*size {
			t.Errorf("status %d, %d bytes, want 200 and %d", status, len(body),
				threads*writes*size)
			return
		}
		per := map[string]int{}
		for off := 0; off < len(body); off += size {
			c := body[off : off+size]
			if !bytes.Equal(c, bytes.Repeat(c[:2], size/2)) {
				t.Errorf("chunk at %d is torn: %q", off, c)
				return
			}
			per[string(c[:2])]++
		}
		for w := 0; w < threads; w++ {
			if got := per[fmt.Sprintf("%02d", w)]; got != writes {
				t.Errorf("thread %d: %d chunks arrived, want %d", w, got, writes)
			}
		}
	})
	plainRequestServed(t, s)
}

// Several app threads call start_response (with exc_info) at once, with heads that outgrow the
// buffer: the one head that goes out must be one thread's, whole.
func TestConcurrentStartResponseFromAppThreads(t *testing.T) {
	s := startServer(t, freeThreadedArgs("testdata/shared_objects.py", "--threads", "2")...)
	hammer(t, 10, 2, func(int) {
		req, err := http.NewRequest("GET", s.URL+"/concurrent-start-response?threads=4&calls=300",
			nil)
		if err != nil {
			t.Error(err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("GET /concurrent-start-response: %v\nserver log:\n%s", err, s.Log)
			return
		}
		body, _ := readAll(resp)
		v := resp.Header.Get("X-Thread")
		if resp.StatusCode != http.StatusOK || string(body) != "one head won\n" || v == "" ||
			strings.Trim(v, v[:1]) != "" {
			t.Errorf("status %d, body %q, X-Thread %.40q (%d bytes): want 200 and one "+
				"thread's header, whole", resp.StatusCode, body, v, len(v))
		}
	})
	plainRequestServed(t, s)
}
