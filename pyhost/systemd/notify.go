package systemd

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends sd_notify messages to NOTIFY_SOCKET. A nil *Notifier (not started by
// systemd, or with a unit of another Type=) sends nothing: callers need not check.
type Notifier struct {
	addr string // a path, or @name for an abstract socket
}

// NewNotifier returns a Notifier for the socket addr (NOTIFY_SOCKET's value); nil for "".
func NewNotifier(addr string) *Notifier {
	if addr == "" {
		return nil
	}
	return &Notifier{addr: addr}
}

// Send sends one message of NAME=value lines. Each message goes on a socket of its own, as
// sd_notify does: one that stays connected would go stale if systemd re-executed itself.
func (n *Notifier) Send(lines ...string) error {
	if n == nil {
		return nil
	}
	// Go's net package makes a leading @ the abstract namespace's NUL byte.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET=%s: %w", n.addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET=%s: %w", n.addr, err)
	}
	return nil
}

// Ready says the service is up (READY=1), with a status line.
func (n *Notifier) Ready(status string) error { return n.Send("READY=1", statusLine(status)) }

// Status sets the status line systemctl status shows.
func (n *Notifier) Status(status string) error { return n.Send(statusLine(status)) }

// Reloading says a reload began (RELOADING=1, with MONOTONIC_USEC as Type=notify-reload
// wants it since systemd 253; older versions ignore it); Ready ends it.
func (n *Notifier) Reloading(status string) error {
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10),
		statusLine(status))
}

// Stopping says the service is shutting down (STOPPING=1).
func (n *Notifier) Stopping(status string) error { return n.Send("STOPPING=1", statusLine(status)) }

// Watchdog is the keep-alive ping WatchdogSec= waits for (WATCHDOG=1).
func (n *Notifier) Watchdog() error { return n.Send("WATCHDOG=1") }

// statusLine is STATUS=s on one line (a newline would start another assignment).
func statusLine(s string) string { return "STATUS=" + strings.ReplaceAll(s, "\n", " ") }

// monotonicUsec is CLOCK_MONOTONIC in microseconds, the clock systemd compares
// MONOTONIC_USEC with.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return ts.Nano() / 1e3
}

// watchdogInterval reads WATCHDOG_USEC and WATCHDOG_PID: how often to send WATCHDOG=1 (half
// the timeout, as sd_watchdog_enabled advises), or 0 when no watchdog is asked of this
// process.
func watchdogInterval(getenv func(string) string, pid int) (time.Duration, error) {
	v := getenv("WATCHDOG_USEC")
	if v == "" {
		return 0, nil
	}
	if p := getenv("WATCHDOG_PID"); p != "" {
		wp, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("WATCHDOG_PID=%q: want a process id", p)
		}
		if wp != pid {
			return 0, nil
		}
	}
	usec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || usec <= 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q: want the watchdog timeout in microseconds", v)
	}
	return time.Duration(usec) * time.Microsecond / 2, nil
}
