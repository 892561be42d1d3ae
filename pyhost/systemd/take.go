package systemd

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Service is what systemd passed this process.
type Service struct {
	// Sockets are the socket unit's listening sockets, in its order (none: not activated).
	Sockets []Socket
	// Notify sends to NOTIFY_SOCKET; nil when there is none.
	Notify *Notifier
	// Watchdog is how often to send WATCHDOG=1 (half of WatchdogSec=); 0: not asked.
	Watchdog time.Duration
}

// The variables systemd sets for the service; Take removes every one.
var vars = [...]string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
	"WATCHDOG_USEC", "WATCHDOG_PID"}

var (
	takeOnce sync.Once
	taken    Service
	takeErr  error
)

// Take reads what systemd passed this process and removes the variables from its environment;
// it does so once, and later calls return the same (the sockets are handed out once: the
// first caller to use them owns them). Call it before starting Python or any other process.
func Take() (Service, error) {
	takeOnce.Do(func() {
		pid := os.Getpid()
		n, names, err1 := activation(os.Getenv, pid)
		wd, err2 := watchdogInterval(os.Getenv, pid)
		taken.Notify = NewNotifier(os.Getenv("NOTIFY_SOCKET"))
		for _, v := range vars {
			os.Unsetenv(v)
		}
		if err1 == nil && n > 0 {
			taken.Sockets, err1 = listeners(n, names)
		}
		taken.Watchdog = wd
		takeErr = errors.Join(err1, err2)
	})
	return taken, takeErr
}

// Activated says whether systemd passed sockets (Take has been called).
func (s Service) Activated() bool { return len(s.Sockets) > 0 }
