package supervisor

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pyhost/pyhost/pyhost/systemd"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The supervisor under systemd (pyhost/systemd has the protocols): it serves on the sockets
// a socket unit passed, when there are any, and it alone tells systemd how the service is
// (NotifyAccess=main; its workers never see NOTIFY_SOCKET):
//
//   - READY=1 once every slot has a worker that loaded its apps (%{GLOBAL}'s always, every
//     group's with --preload), STATUS= with what it serves;
//   - RELOADING=1 on SIGHUP, READY=1 again once every slot's replacement is serving (or could
//     not start, and the old worker keeps serving: the status line says so);
//   - STOPPING=1 when a SIGTERM/SIGINT starts the drain;
//   - WATCHDOG=1 from the supervisor's event loop, the one goroutine that handles every
//     signal, worker status and exit: a ping proves that loop is turning, not just that a
//     timer fires. The workers are the loop's to watch (it respawns the dead, recycles the
//     stuck with --deadlock-timeout).

// sdState is what the supervisor keeps for systemd.
type sdState struct {
	notify   *systemd.Notifier
	watchdog *time.Ticker // nil: no WatchdogSec
	// reloadSince is when the SIGHUP reload under way began (zero: none under way).
	reloadSince time.Time
	addrs       string // what it serves on, for the status line
}

// activatedFiles returns the sockets systemd passed, as files for the workers (nil: not
// socket-activated). Their files are systemd's: the supervisor never removes them.
func activatedFiles() (files []*os.File, addrs []string, err error) {
	sd, err := systemd.Take()
	if err != nil || !sd.Activated() {
		return nil, nil, err
	}
	for _, s := range sd.Sockets {
		var f *os.File
		conn, ok := s.Listener.(interface {
			syscall.Conn
			Addr() net.Addr
		})
		if ok {
			f, err = worker.ListenerFile(conn)
		} else {
			err = fmt.Errorf("not a TCP or Unix socket")
		}
		s.Listener.Close() // the dup keeps listening
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, nil, fmt.Errorf("the socket systemd passed (%s): %w", s.Name, err)
		}
		files = append(files, f)
		addrs = append(addrs, worker.AddrString(s.Listener.Addr()))
	}
	return files, addrs, nil
}

// activatedListeners returns the sockets systemd passed as listeners, for the front of
// several process groups (nil: not socket-activated).
func activatedListeners() (lns []net.Listener, addrs []string, err error) {
	sd, err := systemd.Take()
	if err != nil || !sd.Activated() {
		return nil, nil, err
	}
	for _, s := range sd.Sockets {
		lns = append(lns, s.Listener)
		addrs = append(addrs, worker.AddrString(s.Listener.Addr()))
	}
	return lns, addrs, nil
}

// startSystemd reads NOTIFY_SOCKET and WATCHDOG_USEC (taken already by the command line).
func (s *supervisor) startSystemd(addrs []string) {
	sd, _ := systemd.Take() // its error stopped the start already
	s.sd = sdState{notify: sd.Notify, addrs: strings.Join(addrs, ",")}
	if sd.Notify != nil && sd.Watchdog > 0 {
		s.sd.watchdog = time.NewTicker(sd.Watchdog)
	}
	s.sdSend(s.sd.notify.Status("starting workers"))
}

func (s *supervisor) stopSystemd() {
	if s.sd.watchdog != nil {
		s.sd.watchdog.Stop()
	}
}

// watchdogC is the event loop's watchdog tick (nil: none, never ready).
func (s *supervisor) watchdogC() <-chan time.Time {
	if s.sd.watchdog == nil {
		return nil
	}
	return s.sd.watchdog.C
}

func (s *supervisor) sdSend(err error) {
	if err != nil {
		s.log.Warn("could not notify systemd", "error", err)
	}
}

// sdReady is READY=1, once every slot serves.
func (s *supervisor) sdReady() {
	s.sdSend(s.sd.notify.Ready(fmt.Sprintf("serving on %s: %d workers ready", s.sd.addrs,
		len(s.slots))))
}

// sdReloading is RELOADING=1, at a SIGHUP.
func (s *supervisor) sdReloading() {
	if s.sd.notify == nil {
		return
	}
	s.sd.reloadSince = time.Now()
	s.sdSend(s.sd.notify.Reloading("reloading: starting new workers"))
}

// sdAfterEvent sends READY=1 once the reload under way has settled: no slot has a worker
// starting. A slot whose new worker could not start keeps its old one serving (and retries
// with back-off, up to --boot-attempts): the reload is over for systemd, and the status line
// says it failed there, rather than systemctl reload waiting for the retries.
func (s *supervisor) sdAfterEvent() {
	if s.sd.reloadSince.IsZero() || s.stopping || !s.announced {
		return
	}
	old := 0
	for _, sl := range s.slots {
		if sl.pending != nil || sl.serving == nil {
			return
		}
		if sl.serving.started.Before(s.sd.reloadSince) {
			old++
		}
	}
	s.sd.reloadSince = time.Time{}
	status := fmt.Sprintf("serving on %s: %d workers ready, reloaded", s.sd.addrs, len(s.slots))
	if old > 0 {
		status = fmt.Sprintf("serving on %s: reload failed for %d of %d workers, which keep "+
			"serving the old code (see the log)", s.sd.addrs, old, len(s.slots))
	}
	s.sdSend(s.sd.notify.Ready(status))
}

// sdStopping is STOPPING=1, as the drain starts.
func (s *supervisor) sdStopping() {
	s.sdSend(s.sd.notify.Stopping("stopping: workers finish their requests"))
}
