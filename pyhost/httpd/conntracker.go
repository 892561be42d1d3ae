package httpd

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// ConnTracker follows a server's connections through its ConnState hook (Track): how many are
// open, to hold a full worker's accept back (WaitForRoom), and which have not yet sent a byte
// of a request. net/http's Shutdown waits up to 5 s for those (a client or load balancer that
// opened one early); pyhost closes them when shutdown starts instead (CloseNew), as it does
// idle keep-alive connections. The zero value is ready to use.
type ConnTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	open  int // connections not yet closed or hijacked, whatever their state
	// closed is signalled (without blocking) whenever a connection closes, for WaitForRoom.
	closed chan struct{}
}

// Track is (or is called from) a server's ConnState hook.
func (n *ConnTracker) Track(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		n.mu.Lock()
		if n.conns == nil {
			n.conns = map[net.Conn]struct{}{}
		}
		n.conns[c] = struct{}{}
		n.open++
		n.mu.Unlock()
	case http.StateActive:
		n.mu.Lock()
		delete(n.conns, c)
		n.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		n.mu.Lock()
		delete(n.conns, c)
		n.open--
		n.mu.Unlock()
		select {
		case n.closedChan() <- struct{}{}:
		default:
		}
	}
}

func (n *ConnTracker) closedChan() chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed == nil {
		n.closed = make(chan struct{}, 1)
	}
	return n.closed
}

// WaitForRoom holds a worker's accept back while it has as many connections open as it has
// request threads, until one closes or wait has passed. Workers share their listening
// sockets, and each accepts whatever reaches it first: without this, one worker could take
// every kept-alive connection of a burst (a proxy's upstream pool, a benchmark's clients)
// while its siblings idle. Holding back lets a sibling with room take the connection; when
// every worker is full, each accepts after wait anyway, so connections are never refused.
func (n *ConnTracker) WaitForRoom(capacity int, wait time.Duration) {
	closed := n.closedChan()
	var timer *time.Timer
	for {
		n.mu.Lock()
		full := n.open >= capacity
		n.mu.Unlock()
		if !full {
			return
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-closed:
		case <-timer.C:
			return
		}
	}
}

// CloseNew closes every connection still waiting for its first request.
func (n *ConnTracker) CloseNew() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.conns {
		c.Close()
		delete(n.conns, c)
	}
}

// WaitForRequests waits, up to d, until no connection is waiting for its first request: each
// has read one (net/http then serves it, shutdown or not) or was closed by its client.
func (n *ConnTracker) WaitForRequests(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		waiting := len(n.conns)
		n.mu.Unlock()
		if waiting == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Open is how many connections are open, whatever their state.
func (n *ConnTracker) Open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.open
}

// WaitAllClosed waits until every connection has closed, or ctx ends.
func (n *ConnTracker) WaitAllClosed(ctx context.Context) {
	for {
		n.mu.Lock()
		open := n.open
		n.mu.Unlock()
		if open <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}
