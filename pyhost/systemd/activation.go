package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// listenFDsStart is the first descriptor systemd passes (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Socket is one socket systemd passed.
type Socket struct {
	Listener net.Listener
	// Name is its FileDescriptorName= (LISTEN_FDNAMES); systemd's default is the socket
	// unit's name, e.g. "pyhost.socket".
	Name string
}

// activation reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from environ for the process pid.
// n is 0 when the sockets are not this process's (no LISTEN_FDS, or LISTEN_PID names another
// process: a parent's variables that leaked), which is no error.
func activation(getenv func(string) string, pid int) (n int, names []string, err error) {
	fds := getenv("LISTEN_FDS")
	if fds == "" {
		return 0, nil, nil
	}
	if p := getenv("LISTEN_PID"); p != "" {
		lp, err := strconv.Atoi(p)
		if err != nil {
			return 0, nil, fmt.Errorf("LISTEN_PID=%q: want a process id", p)
		}
		if lp != pid {
			return 0, nil, nil
		}
	}
	n, err = strconv.Atoi(fds)
	if err != nil || n < 0 {
		return 0, nil, fmt.Errorf("LISTEN_FDS=%q: want the number of sockets passed", fds)
	}
	if v := getenv("LISTEN_FDNAMES"); v != "" {
		names = strings.Split(v, ":")
	}
	if names != nil && len(names) != n {
		return 0, nil, fmt.Errorf("LISTEN_FDNAMES=%q names %d sockets, LISTEN_FDS=%d",
			getenv("LISTEN_FDNAMES"), len(names), n)
	}
	return n, names, nil
}

// listeners turns descriptors 3 ... 3+n-1 into listeners, checking that each is a listening
// stream socket (a socket unit with Accept=yes passes a connection, and ListenDatagram= a
// datagram socket: neither can be served). The listeners hold duplicates; the descriptors
// themselves are closed, so that no program started later inherits them.
func listeners(n int, names []string) ([]Socket, error) {
	var out []Socket
	fail := func(err error) ([]Socket, error) {
		for _, s := range out {
			s.Listener.Close()
		}
		for fd := listenFDsStart + len(out); fd < listenFDsStart+n; fd++ {
			syscall.Close(fd)
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		fd := listenFDsStart + i
		name := "LISTEN_FDS socket " + strconv.Itoa(fd)
		if names != nil {
			name = names[i]
		}
		if err := checkListening(fd); err != nil {
			return fail(fmt.Errorf("the socket systemd passed as descriptor %d (%s) %w", fd,
				name, err))
		}
		f := os.NewFile(uintptr(fd), name)
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("the socket systemd passed as descriptor %d (%s): %w", fd,
				name, err))
		}
		out = append(out, Socket{Listener: ln, Name: name})
	}
	return out, nil
}

// checkListening says what is wrong with fd as a socket to accept on.
func checkListening(fd int) error {
	typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
	if err != nil {
		return fmt.Errorf("is not a socket (%v)", err)
	}
	if typ != syscall.SOCK_STREAM {
		return fmt.Errorf("is not a stream socket: use ListenStream= in the socket unit")
	}
	acc, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	if err != nil {
		return err
	}
	if acc == 0 {
		return fmt.Errorf("is not listening: set Accept=no in the socket unit (pyhost " +
			"accepts the connections itself)")
	}
	return nil
}
