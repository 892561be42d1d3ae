package httpd

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// requestContext is the context of the fast path's requests on one connection. It carries
// the connection's values (http.ServerContextKey, http.LocalAddrContextKey) and is cancelled
// when the client closes the connection while its request is being served — which it
// notices only once something waits on Done (in pyhost: a request queued for a request
// thread), so a request that never waits starts no watcher. net/http starts one for every
// request. Like net/http's, it is cancelled once the request has ended.
type requestContext struct {
	context.Context
	c  net.Conn
	br *bufio.Reader

	mu       sync.Mutex
	live     bool          // a request is being served
	done     chan struct{} // made by the first Done of a request
	canceled bool
	watcher  chan struct{} // closed when the watcher stopped reading
}

// fastPathKey finds the requestContext under the contexts handlers put on top of it.
type fastPathKey struct{}

func (rc *requestContext) Value(key any) any {
	if key == (fastPathKey{}) {
		return rc
	}
	return rc.Context.Value(key)
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (rc *requestContext) Done() <-chan struct{} {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.live {
		return closedChan
	}
	if rc.done == nil {
		rc.done, rc.watcher = make(chan struct{}), make(chan struct{})
		go rc.watch(rc.done, rc.watcher)
	}
	return rc.done
}

func (rc *requestContext) Err() error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !rc.live || rc.canceled {
		return context.Canceled
	}
	return nil
}

// watch waits for the connection to say something while the request is served: bytes (a
// pipelined request, left buffered for the connection's loop) or its end (the client left:
// cancel).
func (rc *requestContext) watch(done, watcher chan struct{}) {
	defer close(watcher)
	if _, err := rc.br.Peek(1); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		rc.mu.Lock()
		rc.canceled = true
		rc.mu.Unlock()
		close(done)
	}
}

func (rc *requestContext) beginRequest() {
	rc.mu.Lock()
	rc.live, rc.done, rc.canceled, rc.watcher = true, nil, false, nil
	rc.mu.Unlock()
}

// endRequest cancels the context and stops the watcher, if one started, before the
// connection's loop reads again (the loop sets the next read deadline itself).
func (rc *requestContext) endRequest() {
	rc.mu.Lock()
	rc.live = false
	watcher := rc.watcher
	rc.mu.Unlock()
	if watcher != nil {
		_ = rc.c.SetReadDeadline(time.Unix(1, 0))
		<-watcher
	}
}
