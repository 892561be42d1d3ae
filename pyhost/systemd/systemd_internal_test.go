package systemd

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestActivationReadsTheVariables(t *testing.T) {
	for _, c := range []struct {
		name  string
		vars  map[string]string
		n     int
		names []string
		err   string
	}{
		{"none", nil, 0, nil, ""},
		{"ours", map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2"}, 2, nil, ""},
		{"named", map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2",
			"LISTEN_FDNAMES": "web:admin"}, 2, []string{"web", "admin"}, ""},
		{"another process's", map[string]string{"LISTEN_PID": "7", "LISTEN_FDS": "2"}, 0, nil, ""},
		{"bad count", map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "two"}, 0, nil, "LISTEN_FDS"},
		{"names disagree", map[string]string{"LISTEN_PID": "42", "LISTEN_FDS": "2",
			"LISTEN_FDNAMES": "web"}, 0, nil, "LISTEN_FDNAMES"},
	} {
		n, names, err := activation(env(c.vars), 42)
		if n != c.n || strings.Join(names, ":") != strings.Join(c.names, ":") ||
			(err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %d %q %v", c.name, n, names, err)
		}
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, c := range []struct {
		vars map[string]string
		want time.Duration
		err  bool
	}{
		{nil, 0, false},
		{map[string]string{"WATCHDOG_USEC": "20000000"}, 10 * time.Second, false},
		{map[string]string{"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, 10 * time.Second, false},
		{map[string]string{"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "7"}, 0, false},
		{map[string]string{"WATCHDOG_USEC": "0"}, 0, true},
	} {
		got, err := watchdogInterval(env(c.vars), 42)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%v: %v %v, want %v", c.vars, got, err, c.want)
		}
	}
}

// The datagram reaches a path and an abstract socket (@name), one message a datagram.
func TestNotifierSends(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{filepath.Join(dir, "notify"), "@pyhost-test-" + filepath.Base(dir)} {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		n := NewNotifier(addr)
		if err := n.Reloading("a\nb"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		k, err := c.Read(buf)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(buf[:k]), "\n"), "\n")
		if len(lines) != 3 || lines[0] != "RELOADING=1" ||
			!strings.HasPrefix(lines[1], "MONOTONIC_USEC=") || lines[2] != "STATUS=a b" {
			t.Errorf("%s: %q", addr, lines)
		}
	}
	var none *Notifier
	if err := none.Ready("x"); err != nil {
		t.Errorf("a nil Notifier: %v", err)
	}
}

// listeners takes a listening socket, and refuses a connected one (Accept=yes) with advice.
// Each case runs in a child process of this test binary that gets the socket as descriptor 3,
// where systemd puts it.
func TestListenersCheckTheSockets(t *testing.T) {
	if os.Getenv("PYHOST_SYSTEMD_TEST_CHILD") != "" {
		socks, err := listeners(1, []string{"web"})
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println("listening:", socks[0].Name, socks[0].Listener.Addr())
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lf, _ := ln.(*net.TCPListener).File()
	cf, _ := c.(*net.TCPConn).File()
	defer lf.Close()
	defer cf.Close()
	for _, tc := range []struct {
		f    *os.File
		want string
	}{{lf, "listening: web " + ln.Addr().String()}, {cf, "Accept=no"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestListenersCheckTheSockets$")
		cmd.Env = append(os.Environ(), "PYHOST_SYSTEMD_TEST_CHILD=1")
		cmd.ExtraFiles = []*os.File{tc.f}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("want %q: %v\n%s", tc.want, err, out)
		}
	}
}
