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
	// closed is signalled (without blocking) whenever a connection closes, for waitForRoom.
	closed chan struct{}
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
		select {
		case n.closedChan() <- struct{}{}:
		default:
		}
	}
}

func (n *newConns) closedChan() chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed == nil {
		n.closed = make(chan struct{}, 1)
	}
	return n.closed
}

// waitForRoom holds a worker's accept back while it has as many connections open as it has
// request threads, until one closes or wait has passed. Workers share their listening
// sockets, and each accepts whatever reaches it first: without this, one worker could take
// every kept-alive connection of a burst (a proxy's upstream pool, a benchmark's clients)
// while its siblings idle. Holding back lets a sibling with room take the connection; when
// every worker is full, each accepts after wait anyway, so connections are never refused.
func (n *newConns) waitForRoom(capacity int, wait time.Duration) {
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
