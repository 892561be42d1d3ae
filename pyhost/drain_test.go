package pyhost_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// keptAliveConn is a raw client connection on which the test sends requests one at a time.
type keptAliveConn struct {
	t    *testing.T
	name string
	c    net.Conn
	br   *bufio.Reader
}

func openKeptAlive(t *testing.T, s *server, name string) *keptAliveConn {
	t.Helper()
	c := dial(t, s)
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return &keptAliveConn{t: t, name: name, c: c, br: bufio.NewReader(c)}
}

// send writes raw (the request; %d in it is replaced by n) and reads its response: the body,
// whether the response said Connection: close, and the error of whichever failed.
func (k *keptAliveConn) send(raw string, n int) (body string, closes bool, err error) {
	if _, err := io.WriteString(k.c, strings.ReplaceAll(raw, "%d", fmt.Sprint(n))); err != nil {
		return "", false, fmt.Errorf("writing: %w", err)
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return "", false, fmt.Errorf("reading the response: %w", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return string(b), resp.Close, fmt.Errorf("status %d, body %q, error %v", resp.StatusCode, b, err)
	}
	return string(b), resp.Close, nil
}

// closedByServer reads until the server closes the connection; false if it sends bytes instead.
func (k *keptAliveConn) closedByServer() bool {
	_, err := k.br.ReadByte()
	return err == io.EOF || isReset(err)
}

const (
	// drainGET goes the fast path; drainPOST has a body, so the fast path hands its connection
	// to net/http for good.
	drainGET  = "GET /?ms=0&id=get%d HTTP/1.1\r\nHost: x\r\n\r\n"
	drainPOST = "POST /?ms=0&id=pos%d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
)

// TestDrainAnswersKeptAliveConnectionsWithClose: SIGTERM closes no kept-alive connection
// that waits between two requests. The next request on it, fast path or net/http, gets its
// full answer with Connection: close, and then the connection closes; a connection that
// stays idle is closed by the drain window, long before the stop ends; a request in flight
// completes; the process exits 0. Before, the idle connections were closed at the signal,
// and a request sent at that moment read EOF (README, "Rollouts"). With two process groups
// the supervisor's front holds the clients' connections and drains them the same way (the
// requests go to /a and /b, one group each; the front has no fast path, both go through
// net/http).
func TestDrainAnswersKeptAliveConnectionsWithClose(t *testing.T) {
	for _, mode := range []struct {
		name string
		args func(t *testing.T) []string // what serves testdata/slow.py
		a, b string                      // the paths requests go to (raw's "/" replaced)
	}{
		{"single", drainApp(), "/", "/"},
		{"processes", drainApp("--processes", "2"), "/", "/"},
		{"process_groups", drainGroupsConfig, "/a/", "/b/"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t, append(mode.args(t), "--shutdown-timeout", "20s")...)
			if mode.a != "/" {
				waitForLines(t, s, `msg="all workers ready"`, 1)
			}
			busy := map[*keptAliveConn]string{
				openKeptAlive(t, s, "fast path"): at(drainGET, mode.a),
				openKeptAlive(t, s, "net/http"):  at(drainPOST, mode.b),
			}
			for k, raw := range busy {
				if _, _, err := k.send(raw, 0); err != nil {
					t.Fatalf("%s, before SIGTERM: %v", k.name, err)
				}
			}
			idle := openKeptAlive(t, s, "idle")
			if _, _, err := idle.send(at(drainGET, mode.a), 0); err != nil {
				t.Fatalf("idle, before SIGTERM: %v", err)
			}
			inflight := openKeptAlive(t, s, "in flight")
			answer := make(chan string, 1)
			go func() {
				body, closes, err := inflight.send(at("GET /?ms=5000&id=drain-inflight HTTP/1.1\r\nHost: x\r\n\r\n", mode.b), 0)
				answer <- fmt.Sprintf("%s close=%v err=%v", body, closes, err)
			}()
			waitForLog(t, s, "slow.py: started id=drain-inflight")
			idleClosed := make(chan bool, 1)
			go func() { idleClosed <- idle.closedByServer() }()

			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// Each busy client pauses between requests, as a client between two tasks does:
			// the drain starts while its connection waits for the next one, and that next
			// request must get a whole answer saying Connection: close (until the drain has
			// begun in its process, answers keep the connection).
			for k, raw := range busy {
				for n := 1; ; n++ {
					time.Sleep(100 * time.Millisecond)
					body, closes, err := k.send(raw, n)
					if err != nil {
						t.Fatalf("%s, request %d after SIGTERM: %v\n%s", k.name, n, err, s.Log)
					}
					if want := fmt.Sprintf("slept 0 id=%s%d", strings.ToLower(raw[:3]), n); body != want {
						t.Errorf("%s, request %d: body %q", k.name, n, body)
					}
					if closes {
						if !k.closedByServer() {
							t.Errorf("%s: the connection stayed open after Connection: close", k.name)
						}
						break
					}
					if n == 100 {
						t.Fatalf("%s: no answer said Connection: close in 10 s of drain\n%s", k.name, s.Log)
					}
				}
			}
			select {
			case closed := <-idleClosed:
				if !closed {
					t.Errorf("the idle connection got bytes instead of being closed")
				}
			case a := <-answer:
				t.Fatalf("the idle connection was still open when the 5 s request in flight "+
					"was answered (%s): the drain window did not close it", a)
			}
			if a := <-answer; a != "slept 5000 id=drain-inflight close=true err=<nil>" {
				t.Errorf("the request in flight: %s", a)
			}
			if err := s.waitExit(); err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, s.Log)
			}
			if !strings.Contains(s.Log.String(), "stopped cleanly") {
				t.Errorf("no clean stop:\n%s", s.Log)
			}
		})
	}
}

// at is the raw request sent to path instead of /.
func at(raw, path string) string {
	return strings.Replace(raw, " /?", " "+path+"?", 1)
}

// drainApp is the arguments that serve testdata/slow.py with 4 threads, and more.
func drainApp(more ...string) func(*testing.T) []string {
	return func(*testing.T) []string {
		return append([]string{"testdata/slow.py", "--threads", "4"}, more...)
	}
}

// drainGroupsConfig is the arguments for two process groups behind the supervisor's front,
// each serving testdata/slow.py: a (2 processes of 1 thread) at /a, b (4 threads) at /b.
func drainGroupsConfig(t *testing.T) []string {
	cfg := groupsConfig(t, groupTable("a", "processes = 2", "threads = 1")+
		groupTable("b", "threads = 4")+
		mountTable("/a", "slow.py", "a")+mountTable("/b", "slow.py", "b"))
	copyTestdata(t, "slow.py", filepath.Join(filepath.Dir(cfg), "slow.py"))
	return []string{"--config", cfg}
}
