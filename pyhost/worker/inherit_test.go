package worker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperVar makes this test binary play a worker (TestMain), for TestSpawn.
const helperVar = "PYHOST_WORKER_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperVar) != "" {
		os.Exit(helperWorker())
	}
	os.Exit(m.Run())
}

// helperWorker is a worker as the protocol sees it: it reads its environment, watches the
// lifeline, takes its sockets, says what it got in a Recycle event's detail, accepts one
// connection on each socket and says Ready; then it waits for the lifeline.
func helperWorker() int {
	env, isWorker, err := LookupEnv()
	if !isWorker || err != nil {
		fmt.Fprintln(os.Stderr, "helper: not a worker:", err)
		return 2
	}
	status := env.OpenStatus()
	env.WatchSupervisor(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	lns, control, err := env.Inherit()
	ClearEnv()
	if err != nil {
		status.Failed(err)
		return 1
	}
	left := []string{}
	for _, name := range allVars {
		if _, ok := os.LookupEnv(name); ok {
			left = append(left, name)
		}
	}
	status.Recycle(MemoryLimit, fmt.Sprintf("slot=%d group=%s routed=%s listeners=%d "+
		"control=%v left=%v", env.Slot, env.Group, strings.Join(env.FrontAddrs, ","), len(lns),
		control != nil, left))
	for _, ln := range append(lns, control) {
		c, err := ln.Accept()
		if err != nil {
			status.Failed(err)
			return 1
		}
		c.Close()
	}
	status.Ready()
	time.Sleep(time.Minute) // until the lifeline ends it
	return 0
}

// A worker started with Attach finds its environment and its descriptors where the
// protocol says, and exits at once when the supervisor's end of the lifeline closes.
func TestSpawn(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tcpFile, err := ListenerFile(tcp.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	defer tcpFile.Close()
	sock := filepath.Join(t.TempDir(), "control.sock")
	unix, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	controlFile, err := ListenerFile(unix)
	if err != nil {
		t.Fatal(err)
	}
	defer controlFile.Close()
	lifeline, err := NewLifeline()
	if err != nil {
		t.Fatal(err)
	}
	defer lifeline.r.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperVar+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	Attach(cmd, Env{Slot: 4, Group: "api", FrontAddrs: []string{"a:1", "b:2"}},
		Files{Listeners: []*os.File{tcpFile}, Status: w, Lifeline: lifeline, Control: controlFile})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() { _ = cmd.Process.Kill() }()

	events := make(chan Event, 8)
	go func() {
		defer close(events)
		_ = ReadStatus(r, func(ev Event, err error) {
			if err == nil {
				events <- ev
			}
		})
	}()
	next := func() Event {
		select {
		case ev := <-events:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event from the worker")
		}
		return Event{}
	}
	ev := next()
	want := "slot=4 group=api routed=a:1,b:2 listeners=1 control=true left=[]"
	if ev.Kind != Recycle || ev.Reason != MemoryLimit || ev.Detail != want {
		t.Fatalf("the worker said %+v, want a Recycle with %q", ev, want)
	}
	for _, dial := range [][2]string{{"tcp", tcp.Addr().String()}, {"unix", sock}} {
		c, err := net.Dial(dial[0], dial[1])
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if ev := next(); ev.Kind != Ready {
		t.Fatalf("the worker said %+v, want Ready", ev)
	}

	lifeline.w.Close() // as the kernel does when the supervisor ends
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 ||
			!strings.Contains(stderr.String(), "the supervisor is gone") {
			t.Errorf("the worker ended with %v, want exit status 1 (its lifeline's); "+
				"its stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker outlived its lifeline")
	}
}
