package pyhost_test

// The supervisor's router across a reload (SIGHUP): no request it forwards is lost.

import (
	"bytes"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRouterReloadLosesNoPost: POSTs on kept-alive connections through the supervisor's router
// (two process groups on one listener) all succeed across a SIGHUP reload. A POST cannot be
// retried by the router (it may have run), so a worker that closed an idle router connection
// while the router sent one on it lost the request (502).
func TestRouterReloadLosesNoPost(t *testing.T) {
	s := startServer(t, "--config", groupsConfig(t, routedAB("processes = 2\nthreads = 2", "")))
	waitForLines(t, s, `msg="all workers ready"`, 1)
	stop := time.Now().Add(4 * time.Second)
	var mu sync.Mutex
	var failures []string
	sent := 0
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := keptAliveClient()
			for n := 0; time.Now().Before(stop); n++ {
				body := []byte(fmt.Sprintf("client %d post %d", i, n))
				resp, err := c.Post(s.URL+"/a/echo", "text/plain", bytes.NewReader(body))
				var got []byte
				if err == nil {
					got, _ = readAll(resp)
				}
				mu.Lock()
				sent++
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, body) {
					failures = append(failures, fmt.Sprintf("%s: %v %v %.80q",
						time.Now().UTC().Format("15:04:05.000"), err, resp != nil && resp.StatusCode == 200, got))
				}
				mu.Unlock()
			}
		}(i)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = s.cmd.Process.Signal(syscall.SIGHUP)
	wg.Wait()
	t.Logf("%d POSTs around the reload", sent)
	if testing.Verbose() {
		t.Log(s.Log)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d POSTs failed around the reload, e.g. %v\nlog:\n%s", len(failures), sent,
			failures[:min(3, len(failures))], s.Log)
	}
}
