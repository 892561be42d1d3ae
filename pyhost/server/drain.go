package server

import (
	"context"
	"time"
)

// drainIdleMax bounds how long, once a stop begins, a kept-alive connection that waits
// between two requests stays open. A client busy on it sends its next request well within
// that, and gets its answer with Connection: close, so it moves to another server (a new
// pod, a new worker) having lost nothing; a connection still idle at the end is one no client
// is using, and it is closed then. Closing such connections at once, as net/http's Shutdown
// does, loses the request a client sent at that instant: its client reads EOF, and a POST is
// not retried (README, "Rollouts": one failed request per kept-alive connection at each
// SIGTERM). A second is a few hundred round trips of a busy client even across a data centre,
// and short against the 5 s a load balancer needs to take the pod out of its endpoints.
const drainIdleMax = time.Second

// drainIdleWindow is drainIdleMax, or half of --shutdown-timeout when that is shorter, so
// that the requests the window lets in still have time to finish.
func drainIdleWindow(shutdownTimeout time.Duration) time.Duration {
	return min(drainIdleMax, shutdownTimeout/2)
}

// drain is how every stop begins, single process or worker: it stops accepting, marks every
// answer from now on Connection: close (httpd.CloseWhenDraining: on the fast path and on
// connections net/http serves alike), lets connections accepted just before deliver their
// first request (a worker's newConnGrace; a single process closes them at once, as before),
// and gives kept-alive connections the drain window to send one more request before the
// idle ones are closed. Behind the supervisor's router the router closes its idle
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
		window := drainIdleWindow(s.cfg.ShutdownTimeout)
		if open := sv.fresh.Open(); open > 0 {
			s.log.Info("draining kept-alive connections: answers say Connection: close, "+
				"connections still idle at the end of the window are closed",
				"connections", open, "window", window.String())
		}
		wctx, cancel := context.WithDeadline(ctx, start.Add(window))
		sv.fresh.WaitAllClosed(wctx)
		cancel()
		for _, srv := range sv.servers {
			// Closes the connections still idle; busy ones close after their response.
			srv.SetKeepAlivesEnabled(false)
		}
	}
	if s.newConnGrace > 0 {
		sv.fresh.WaitAllClosed(ctx)
	}
}
