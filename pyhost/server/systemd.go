package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/pyhost/pyhost/pyhost/systemd"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The single-process server under systemd (pyhost/systemd has the protocols; under
// --processes the supervisor talks to systemd and its workers never see the variables):
//
//   - the sockets a socket unit passed replace --listen, as gunicorn's do --bind;
//   - READY=1 once New has returned: the listeners are up and %{GLOBAL}'s apps loaded (every
//     group's with --preload; the others load at their first request);
//   - STOPPING=1 when the graceful shutdown starts (SIGTERM, SIGINT, or SIGHUP, which stops a
//     single process: reloading needs --processes);
//   - WATCHDOG=1 from Run's own loop, and only while every interpreter's GIL can be taken: a
//     GIL held by C code that never lets go stops every request, the one failure a single
//     process cannot recover from, and systemd's watchdog then restarts it.

// neverReport is the timeout of the GIL probes the watchdog alone asked for: they report
// nothing themselves (--deadlock-timeout does that), the watchdog reads them.
const neverReport = time.Duration(1 << 62)

// activatedListeners takes the sockets systemd passed into s.listeners; false: none passed.
func (s *Server) activatedListeners() (bool, error) {
	sd, err := systemd.Take()
	if err != nil || !sd.Activated() {
		return false, err
	}
	var addrs []string
	for _, sock := range sd.Sockets {
		s.listeners = append(s.listeners, sock.Listener)
		addrs = append(addrs, worker.AddrString(sock.Listener.Addr()))
	}
	s.log.Info("serving on the sockets systemd passed; they replace --listen",
		"addresses", strings.Join(addrs, ","), "listen_ignored", strings.Join(s.cfg.Listen, ","))
	return true, nil
}

// sdNotifier is this process's notifier: the single-process server's (nil in a worker, or
// when systemd did not ask).
func (s *Server) sdNotifier() *systemd.Notifier {
	if !s.single {
		return nil // a worker: its supervisor notifies
	}
	sd, _ := systemd.Take()
	return sd.Notify
}

func (s *Server) sdSend(err error) {
	if err != nil {
		s.log.Warn("could not notify systemd", "error", err)
	}
}

// sdReady is READY=1, with what the server serves.
func (s *Server) sdReady() {
	var addrs []string
	for _, ln := range s.listeners {
		addrs = append(addrs, worker.AddrString(ln.Addr()))
	}
	s.sdSend(s.sdNotifier().Ready(fmt.Sprintf("serving on %s: one process, %d threads",
		strings.Join(addrs, ","), s.cfg.Threads)))
}

// sdStopping is STOPPING=1.
func (s *Server) sdStopping() {
	s.sdSend(s.sdNotifier().Stopping("stopping: requests in flight finish"))
}

// sdWatchdog returns the watchdog's tick (nil: none asked) and the GIL probes it reads:
// watch itself when the deadlock watch runs, else probes of its own.
func (s *Server) sdWatchdog(watch *deadlockWatch) (<-chan time.Time, *time.Ticker, *deadlockWatch) {
	sd, _ := systemd.Take()
	if s.sdNotifier() == nil || sd.Watchdog <= 0 {
		return nil, nil, watch
	}
	if watch == nil {
		watch = startDeadlockWatch(s.rt, s.log, neverReport, nil)
	}
	t := time.NewTicker(sd.Watchdog)
	return t.C, t, watch
}

// sdPing sends WATCHDOG=1 unless an interpreter's GIL has been out of reach for a whole
// interval (the ping after it comes as soon as the GIL is free again).
func (s *Server) sdPing(watch *deadlockWatch, interval time.Duration) {
	if stuck := watch.longestProbe(); stuck >= interval {
		s.log.Warn("no watchdog ping to systemd: an interpreter's GIL could not be taken",
			"waited", stuck.Round(time.Millisecond).String())
		return
	}
	s.sdSend(s.sdNotifier().Watchdog())
}
