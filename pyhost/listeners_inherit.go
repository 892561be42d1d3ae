package pyhost

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// How a supervisor hands its sockets to a worker: the listening sockets become the worker's
// file descriptors 3, 4, ... in --listen order (exec.Cmd.ExtraFiles), followed by the write
// end of the worker's status pipe. The environment says how many listeners there are.
const (
	workerEnv       = "PYHOST_WORKER"           // set (to the worker's slot number) in workers only
	workerListenEnv = "PYHOST_WORKER_LISTENERS" // how many listening sockets were inherited
	firstInherited  = 3                         // ExtraFiles[0] is fd 3 in the child
)

// bindListeners opens every --listen address in the supervisor and returns their files, which
// stay open in the supervisor for its whole life: workers come and go, the sockets do not, so
// connections wait in the backlog while no worker accepts instead of being refused.
func bindListeners(addrs []string) ([]*os.File, []string, error) {
	var files []*os.File
	var bound []string
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeFiles(files)
			return nil, nil, fmt.Errorf("--listen %s: %w", addr, err)
		}
		f, err := listenerFile(ln.(*net.TCPListener))
		ln.Close() // the dup keeps the socket listening
		if err != nil {
			closeFiles(files)
			return nil, nil, fmt.Errorf("--listen %s: %w", addr, err)
		}
		files = append(files, f)
		bound = append(bound, ln.Addr().String())
	}
	return files, bound, nil
}

// listenerFile duplicates ln's socket into a file that stays non-blocking when a worker is
// started with it. TCPListener.File would not do: exec.Cmd calls Fd() on every ExtraFile,
// and Fd() of such a file switches the socket to blocking mode, for the whole open file
// description, which every worker shares. A worker already serving then blocks in accept(2)
// until a connection comes, and its graceful drain, which closes the listener, waits for
// that accept: an idle worker replaced by a recycle or a reload hung until the shutdown
// timeout. (A *net.UnixListener needs the same.)
func listenerFile(ln interface {
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

// inheritedListeners returns the listening sockets a worker got from its supervisor.
func inheritedListeners() ([]net.Listener, error) {
	n, err := strconv.Atoi(os.Getenv(workerListenEnv))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("pyhost worker: %s=%q, want the number of inherited listeners "+
			"(workers are started by pyhost serve --processes, not by hand)", workerListenEnv,
			os.Getenv(workerListenEnv))
	}
	var lns []net.Listener
	for i := 0; i < n; i++ {
		f := os.NewFile(uintptr(firstInherited+i), "listener-"+strconv.Itoa(i))
		ln, err := net.FileListener(f) // dups the fd: close ours
		f.Close()
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("pyhost worker: inherited listener %d: %w", i, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// statusPipe is the worker's end of the pipe to its supervisor: one line per event.
func statusPipe(listeners int) *os.File {
	fd := firstInherited + listeners
	syscall.CloseOnExec(fd) // not for the programs the app runs
	return os.NewFile(uintptr(fd), "supervisor-status")
}

// passFile gives the worker cmd starts f, and names its descriptor there in the environment
// variable env (read back by inheritedFD).
func passFile(cmd *exec.Cmd, f *os.File, env string) {
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Env = append(cmd.Env, env+"="+strconv.Itoa(firstInherited+len(cmd.ExtraFiles)-1))
}

// inheritedFD, in a worker, is the descriptor passFile named in env (ok false when env is
// unset, as in a worker of an older supervisor), and clears the variable so that the app does
// not see it.
func inheritedFD(env string) (fd int, ok bool, err error) {
	v := os.Getenv(env)
	os.Unsetenv(env)
	if v == "" {
		return 0, false, nil
	}
	fd, err = strconv.Atoi(v)
	if err != nil || fd < firstInherited {
		return 0, false, fmt.Errorf("pyhost worker: %s=%q, want a file descriptor number", env, v)
	}
	return fd, true, nil
}
