package httpd

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// A worker with room accepts at once; a full one waits until a connection closes, or for its
// hold-back time when none does (connections are never refused, only left to a sibling).
func TestWaitForRoom(t *testing.T) {
	var n ConnTracker
	a, b := &net.TCPConn{}, &net.TCPConn{}
	n.Track(a, http.StateNew)
	start := time.Now()
	n.WaitForRoom(2, time.Hour) // 1 open of 2: room
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("waited %v with room", d)
	}
	n.Track(b, http.StateNew)
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Track(a, http.StateClosed)
	}()
	start = time.Now()
	n.WaitForRoom(2, time.Hour) // full until a closes
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("a full worker went on after %v, before a connection closed", d)
	}
	n.Track(a, http.StateNew) // full again, and nothing closes
	start = time.Now()
	n.WaitForRoom(2, 30*time.Millisecond)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("a full worker accepted after %v, before its hold-back", d)
	}
}
