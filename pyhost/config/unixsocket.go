package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A --listen address is HOST:PORT (TCP) or unix:PATH (a Unix domain socket, the usual way
// behind nginx: proxy_pass http://unix:/run/pyhost/pyhost.sock;).

// UnixPrefix starts a --listen address that names a Unix socket.
const UnixPrefix = "unix:"

// UnixListenPath returns the socket path of a unix:PATH --listen address; ok is false for a
// TCP address.
func UnixListenPath(addr string) (path string, ok bool) {
	if !strings.HasPrefix(addr, UnixPrefix) {
		return "", false
	}
	return strings.TrimPrefix(addr, UnixPrefix), true
}

// maxUnixPath is the longest socket path Linux takes (sun_path is 108 bytes, one for NUL).
const maxUnixPath = 107

// CheckListen checks one --listen address (or a config file's listen entry).
func CheckListen(addr string) error {
	if path, ok := UnixListenPath(addr); ok {
		switch {
		case path == "":
			return fmt.Errorf("%q: want unix:PATH, e.g. unix:/run/pyhost/pyhost.sock", addr)
		case strings.HasPrefix(path, "@"):
			return fmt.Errorf("%q: abstract Unix sockets are not supported: give a file path, "+
				"e.g. unix:/run/pyhost/pyhost.sock", addr)
		case len(path) > maxUnixPath:
			return fmt.Errorf("%q: a Unix socket path may be at most %d bytes long (this one "+
				"is %d): choose a shorter path", addr, maxUnixPath, len(path))
		}
		return nil
	}
	if !isHostPort(addr) {
		return fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:8000 or [::1]:8000, or "+
			"unix:PATH, e.g. unix:/run/pyhost/pyhost.sock", addr)
	}
	return nil
}

// checkListen checks every --listen address and --socket-mode.
func (c Config) checkListen() error {
	for _, addr := range c.Listen {
		if err := CheckListen(addr); err != nil {
			return fmt.Errorf("--listen %w", err)
		}
	}
	if c.SocketMode&^os.ModePerm != 0 {
		return fmt.Errorf("--socket-mode %#o: want permission bits only, e.g. 0660", uint32(c.SocketMode))
	}
	return nil
}

// socketModeFlag is --socket-mode: an octal mode such as 0660 or 660.
type socketModeFlag struct{ m *os.FileMode }

func (f socketModeFlag) String() string {
	if f.m == nil || *f.m == 0 {
		return ""
	}
	return fmt.Sprintf("%#o", uint32(*f.m))
}

func (f socketModeFlag) Set(v string) error {
	n, err := strconv.ParseUint(strings.TrimPrefix(v, "0o"), 8, 32)
	if err != nil || n > 0o777 {
		return fmt.Errorf("want an octal permission mode such as 0660 (owner and group may "+
			"connect) or 0666 (anyone may), got %q", v)
	}
	if n == 0 {
		return fmt.Errorf("%q would let nobody connect, not even the owner: want e.g. 0660", v)
	}
	*f.m = os.FileMode(n)
	return nil
}

// socketModeUsage is --socket-mode's help.
const socketModeUsage = "permissions of the --listen unix:PATH socket files, in octal, e.g. " +
	"0660 (a client must be allowed to write to a socket to connect; default: as the umask " +
	"makes them, as gunicorn and uWSGI do). Started as root, the socket belongs to --user " +
	"and --group, so --socket-mode 0660 --group www-data lets nginx in"
