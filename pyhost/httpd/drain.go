package httpd

import (
	"context"
	"log/slog"
	"time"
)

// DrainIdleMax bounds how long, once a stop begins, a kept-alive connection that waits
// between two requests stays open. A client busy on it sends its next request well within
// that, and gets its answer with Connection: close (CloseWhenDraining), so it moves to another
// server (a new pod, a new worker) having lost nothing; a connection still idle at the end is
// one no client is using, and it is closed then. Closing such connections at once, as
// net/http's Shutdown does, loses the request a client sent at that instant: its client reads
// EOF, and a POST is not retried (README, "Rollouts": one failed request per kept-alive
// connection at each SIGTERM). A second is a few hundred round trips of a busy client even
// across a data centre, and short against the 5 s a load balancer needs to take the pod out
// of its endpoints.
const DrainIdleMax = time.Second

// DrainIdleWindow is DrainIdleMax, or half of --shutdown-timeout when that is shorter, so
// that the requests the window lets in still have time to finish.
func DrainIdleWindow(shutdownTimeout time.Duration) time.Duration {
	return min(DrainIdleMax, shutdownTimeout/2)
}

// KeepAliveSwitch is what DrainKeptAlive needs of a server: *http.Server and FastServer
// have it (SetKeepAlivesEnabled(false) closes the idle connections).
type KeepAliveSwitch interface {
	SetKeepAlivesEnabled(bool)
}

// DrainKeptAlive is the public side of a drain, after the listeners are closed and the
// handlers (CloseWhenDraining) answer Connection: close: it gives the kept-alive connections
// conns follows the window from start to send one more request, or until ctx ends, and then
// closes those still idle through each server (the busy ones close after their response).
// A single process, the workers that share the public sockets (--processes) and the
// supervisor's front (several process groups) all drain this way.
func DrainKeptAlive[S KeepAliveSwitch](ctx context.Context, conns *ConnTracker, start time.Time,
	window time.Duration, servers []S, log *slog.Logger) {
	if open := conns.Open(); open > 0 {
		log.Info("draining kept-alive connections: answers say Connection: close, "+
			"connections still idle at the end of the window are closed",
			"connections", open, "window", window.String())
	}
	wctx, cancel := context.WithDeadline(ctx, start.Add(window))
	conns.WaitAllClosed(wctx)
	cancel()
	for _, srv := range servers {
		srv.SetKeepAlivesEnabled(false)
	}
}
