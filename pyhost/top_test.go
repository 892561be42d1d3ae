package pyhost_test

// `pyhost top` against a running server: one frame with --once, and the live view on a
// pseudo-terminal, quit with q.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestTopOnce: one frame lists each worker (pid, group, slot, state) and the group, and the
// request running in the app among the longest-running ones.
func TestTopOnce(t *testing.T) {
	s := startServer(t, "testdata/threads.py", "--processes", "2", "--threads", "2",
		"--metrics-listen", "127.0.0.1:0")
	addr := metricsAddr(t, s)
	waitForLines(t, s, `msg="all workers ready"`, 1)
	id := requestInApp(t, s, "/sleep?ms=5000")
	v, body := getThreads(t, addr, "")
	if len(v.Processes) != 2 {
		t.Fatalf("want two workers in /debug/threads:\n%s", body)
	}
	frame := topOnce(t, addr)
	if strings.Contains(frame, "\x1b[") {
		t.Errorf("--once wrote terminal control sequences:\n%q", frame)
	}
	for _, want := range []string{"PROCESS GROUP", "GIL-WAIT P99", "LONGEST REQUEST", id, "GET /sleep"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the frame lacks %q:\n%s", want, frame)
		}
	}
	groupRow := false
	for _, line := range strings.Split(frame, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "default" && f[1] == "2" {
			groupRow = true
		}
	}
	if !groupRow {
		t.Errorf("no row for process group default with 2 workers:\n%s", frame)
	}
	for _, p := range v.Processes {
		row := fmt.Sprintf("%-8d %-20s %6d %-9s", p.PID, "default", p.Slot, "ready")
		if !strings.Contains(frame, row) {
			t.Errorf("no row %q for worker %d:\n%s", row, p.PID, frame)
		}
	}
}

// TestTopOnceNoServer: with nothing listening, top says so and exits 1.
func TestTopOnceNoServer(t *testing.T) {
	r := runPyhost(t, together, "top", "--once", "--metrics", "127.0.0.1:1")
	if r.Code != 1 || !strings.Contains(r.Out, "--metrics-listen") {
		t.Errorf("want exit 1 and advice on --metrics-listen, got exit %d:\n%s", r.Code, r.Out)
	}
}

// TestTopTerminal: on a terminal, top draws in the alternate screen, redraws, quits on q
// without Enter, and gives the terminal back.
func TestTopTerminal(t *testing.T) {
	s := startServer(t, "testdata/threads.py", "--threads", "2", "--metrics-listen", "127.0.0.1:0")
	addr := metricsAddr(t, s)
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(pyhostBin, "top", "--metrics", addr, "--interval", "200ms")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(want string, n int) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(screen.String(), want) >= n
	}
	pid := strconv.Itoa(s.cmd.Process.Pid)
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && !seen(pid, 2); {
		time.Sleep(20 * time.Millisecond)
	}
	if !seen("\x1b[?1049h", 1) || !seen("\x1b[H\x1b[2J", 2) || !seen(pid, 2) {
		mu.Lock()
		t.Fatalf("no redrawn frame showing pid %s in the alternate screen:\n%q", pid, screen.String())
	}
	if _, err := master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("pyhost top exited with %v after q", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("pyhost top did not quit on q")
	}
	time.Sleep(50 * time.Millisecond)
	if !seen("\x1b[?1049l", 1) {
		t.Error("top did not leave the alternate screen")
	}
}

// openPTY opens a pseudo-terminal pair (Linux: /dev/ptmx, unlock, /dev/pts/N).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("ptsname: %v", e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}
