package worker

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// Listen opens a listener on every --listen address (HOST:PORT or unix:PATH, the socket file
// made as o says), in order; on an error it closes those it opened. bound are the addresses
// as bound (a port 0 resolved, a socket's path made absolute). Closing a Unix listener
// removes its file.
func Listen(addrs []string, o SocketOptions) (lns []net.Listener, bound []string, err error) {
	for _, addr := range addrs {
		ln, err := listenOne(addr, o)
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return nil, nil, fmt.Errorf("--listen %s: %w", addr, err)
		}
		lns = append(lns, ln)
		bound = append(bound, AddrString(ln.Addr()))
	}
	return lns, bound, nil
}

// BindListeners opens every --listen address for the workers and returns their files, which
// stay open in the supervisor for its whole life: workers come and go, the sockets do not, so
// connections wait in the backlog while no worker accepts instead of being refused. The
// files of Unix sockets stay too, until RemoveSocketFiles at the supervisor's exit.
func BindListeners(addrs []string, o SocketOptions) (files []*os.File, bound []string, err error) {
	lns, bound, err := Listen(addrs, o)
	if err != nil {
		return nil, nil, err
	}
	for i, ln := range lns {
		if ul, ok := ln.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the dup below keeps listening on the file
		}
		f, err := ListenerFile(ln.(interface {
			syscall.Conn
			Addr() net.Addr
		}))
		ln.Close() // the dup keeps the socket listening
		if err != nil {
			closeFiles(files)
			RemoveSocketFiles(bound)
			for _, rest := range lns[i+1:] {
				rest.Close()
			}
			return nil, nil, fmt.Errorf("--listen %s: %w", bound[i], err)
		}
		files = append(files, f)
	}
	return files, bound, nil
}

// ListenerFile duplicates ln's socket into a file that stays non-blocking when a worker is
// started with it. TCPListener.File would not do: exec.Cmd calls Fd() on every ExtraFile,
// and Fd() of such a file switches the socket to blocking mode, for the whole open file
// description, which every worker shares. A worker already serving then blocks in accept(2)
// until a connection comes, and its graceful drain, which closes the listener, waits for
// that accept: an idle worker replaced by a recycle or a reload hung until the shutdown
// timeout. (A *net.UnixListener needs the same.)
func ListenerFile(ln interface {
	syscall.Conn
	Addr() net.Addr
}) (*os.File, error) {
	raw, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup, dupErr := -1, error(nil)
	err = raw.Control(func(fd uintptr) {
		r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			dupErr = os.NewSyscallError("fcntl(F_DUPFD_CLOEXEC)", errno)
			return
		}
		dup = int(r)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, err
	}
	// A non-blocking descriptor given to os.NewFile stays non-blocking through Fd().
	return os.NewFile(uintptr(dup), "listener "+ln.Addr().String()), nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
