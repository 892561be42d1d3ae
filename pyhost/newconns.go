package pyhost

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// newConns tracks connections that have not yet sent a byte of a request. net/http's Shutdown
// waits up to 5 s for such connections (a client or load balancer that opened one early);
// pyhost closes them when shutdown starts instead, as it does idle keep-alive connections.
type newConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	open  int // connections not yet closed or hijacked, whatever their state
}

// track is an http.Server ConnState hook.
func (n *newConns) track(c net.Conn, state http.ConnState) {
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
	}
}

// closeAll closes every connection still waiting for its first request.
func (n *newConns) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.conns {
		c.Close()
		delete(n.conns, c)
	}
}

// waitForRequests waits, up to d, until no connection is waiting for its first request: each
// has read one (net/http then serves it, shutdown or not) or was closed by its client.
func (n *newConns) waitForRequests(d time.Duration) {
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

// waitAllClosed waits until every connection has closed, or ctx ends.
func (n *newConns) waitAllClosed(ctx context.Context) {
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
