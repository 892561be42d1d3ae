package server

import (
	"context"
	"time"

	"github.com/pyhost/pyhost/pyhost/httpd"
)

// drain is how every stop begins, single process or worker: it stops accepting, marks every
// answer from now on Connection: close (httpd.CloseWhenDraining: on the fast path and on
// connections net/http serves alike), lets connections accepted just before deliver their
// first request (a worker's newConnGrace; a single process closes them at once, as before),
// and gives kept-alive connections the drain window (httpd.DrainKeptAlive) to send one more
// request before the idle ones are closed. Behind the supervisor's router the router closes its idle
// connections itself, so the worker closes none. A worker then waits until every connection
// has closed, or ctx ends: net/http's Shutdown, which comes next, drops a request it reads
// after shutdown began (it closes the connection unanswered), and a worker's connections
// are requests on their way, not ones to refuse.
// A connection accept(2) returned just before the listener closed reaches the ConnState
// hook a moment later, from the Serve loop: waiting for the loops to return first keeps it
// from being missed (the process then exited under it, and its client read EOF).
func (s *Server) drain(ctx context.Context, sv *serving) {
	start := time.Now()
	for _, ln := range sv.guarded {
		ln.Close()
	}
	loopsDone := make(chan struct{})
	go func() { sv.accepting.Wait(); close(loopsDone) }()
	select {
	case <-loopsDone:
	case <-ctx.Done():
	}
	s.draining.Store(true)
	if s.newConnGrace > 0 {
		sv.fresh.WaitForRequests(s.newConnGrace)
	}
	sv.fresh.CloseNew()
	if s.routed == nil {
		httpd.DrainKeptAlive(ctx, &sv.fresh, start, httpd.DrainIdleWindow(s.cfg.ShutdownTimeout),
			sv.servers, s.log)
	}
	if s.newConnGrace > 0 {
		sv.fresh.WaitAllClosed(ctx)
	}
}
