package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SocketOptions is how the files of unix:PATH listeners are made.
type SocketOptions struct {
	// Mode is --socket-mode (0: as the umask makes the file).
	Mode os.FileMode
	// UID and GID become the file's owner (-1: left as the binding process made it); the
	// process that binds, when started as root, gives the socket to --user and --group.
	UID, GID int
}

// KeepOwner is SocketOptions that leave the owner as is.
func KeepOwner(mode os.FileMode) SocketOptions { return SocketOptions{Mode: mode, UID: -1, GID: -1} }

const unixPrefix = "unix:" // as config.UnixPrefix (worker does not import config)

// listenOne opens one --listen address: HOST:PORT over TCP, or unix:PATH.
func listenOne(addr string, o SocketOptions) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		return net.Listen("tcp", addr)
	}
	return listenUnix(path, o)
}

// listenUnix binds a Unix socket at path, in place of a stale socket file a process that
// died left there (none accepts on it), and gives the file o's mode and owner. A Close of
// the listener removes the file.
func listenUnix(path string, o SocketOptions) (*net.UnixListener, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := removeStaleSocket(abs); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: abs, Net: "unix"})
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (the folder must exist and be writable by the user "+
				"that binds the socket)", err)
		}
		return nil, err
	}
	if o.Mode != 0 {
		if err := os.Chmod(abs, o.Mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("--socket-mode: %w", err)
		}
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := os.Chown(abs, o.UID, o.GID); err != nil {
			ln.Close()
			return nil, fmt.Errorf("giving the socket to --user/--group: %w", err)
		}
	}
	return ln, nil
}

// removeStaleSocket makes way for a socket at path: nothing there is fine, a socket no
// process accepts on (connecting is refused) is removed; a live socket, or anything that is
// not a socket, is refused.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket: remove it, or choose another "+
			"path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("a process already accepts connections on %s (another pyhost "+
			"still running?): stop it, or choose another path", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s exists and could not be checked for a process accepting on "+
			"it: %w", path, err)
	}
	// Left by a process that did not exit cleanly: nobody accepts there any more.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale socket file %s: %w", path, err)
	}
	return nil
}

// RemoveSocketFiles removes, at a supervisor's exit, the files of the unix:PATH addresses
// among bound (as Listen and BindListeners return them) that are still sockets.
func RemoveSocketFiles(bound []string) {
	for _, addr := range bound {
		path, ok := strings.CutPrefix(addr, unixPrefix)
		if !ok {
			continue
		}
		if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
			_ = os.Remove(path)
		}
	}
}

// AddrString names a listener's address as --listen does: HOST:PORT, or unix:PATH.
func AddrString(a net.Addr) string {
	if a.Network() == "unix" {
		return unixPrefix + a.String()
	}
	return a.String()
}

// ListenURL names a listener in the log: http://HOST:PORT, or unix:PATH.
func ListenURL(a net.Addr) string {
	if a.Network() == "unix" {
		return AddrString(a)
	}
	return "http://" + a.String()
}
