package worker

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// The worker's side of the descriptors (attach.go and listeners.go have the supervisor's).

// Inherit, in a worker, returns the listening sockets its supervisor passed and its control
// socket (nil when it got none, as from an older supervisor).
func (e Env) Inherit() (listeners []net.Listener, control net.Listener, err error) {
	for i := 0; i < e.Listeners; i++ {
		ln, err := fileListener(firstInherited+i, "listener-"+strconv.Itoa(i))
		if err != nil {
			closeListeners(listeners)
			return nil, nil, fmt.Errorf("pyhost worker: inherited listener %d: %w", i, err)
		}
		listeners = append(listeners, ln)
	}
	if e.Control != 0 {
		if control, err = fileListener(e.Control, "worker-control"); err != nil {
			closeListeners(listeners)
			return nil, nil, fmt.Errorf("pyhost worker: inherited control socket: %w", err)
		}
	}
	return listeners, control, nil
}

// fileListener turns the inherited descriptor fd into a listener (which holds a dup of it,
// close-on-exec) and closes fd, so that the app's subprocesses do not inherit it.
func fileListener(fd int, name string) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return net.FileListener(f)
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// OpenStatus, in a worker, returns its end of the status pipe (see Status).
func (e Env) OpenStatus() *Status {
	fd := firstInherited + e.Listeners
	syscall.CloseOnExec(fd) // not for the programs the app runs
	return &Status{f: os.NewFile(uintptr(fd), "supervisor-status")}
}
