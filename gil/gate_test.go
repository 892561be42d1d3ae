package gil

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// With the GIL reported held throughout, a second request waits at the gate until the first
// leaves; it cannot have gone in before (a lower bound, not a timing assertion).
func TestGateKeepsSecondOutWhileFirstIsInside(t *testing.T) {
	g := NewGate(func() bool { return true })
	g.Enter(NewWaiter())
	var in atomic.Bool
	done := make(chan time.Duration)
	go func() {
		w := g.Enter(NewWaiter())
		in.Store(true)
		done <- w
	}()
	time.Sleep(GatePoll * 3)
	if in.Load() {
		t.Fatal("second request went in while the first was inside holding the GIL")
	}
	g.Leave()
	if w := <-done; w < GatePoll*3 {
		t.Fatalf("second request reports waiting %v, less than the time it was kept out", w)
	}
	g.Leave()
}

// A request inside that released the GIL (I/O) must not keep the others out: the first
// waiter sees the GIL free and goes in while the first request is still inside.
func TestGateLetsWaiterInWhenGILIsFree(t *testing.T) {
	var probes atomic.Int32
	g := NewGate(func() bool { probes.Add(1); return false })
	g.Enter(NewWaiter())
	done := make(chan struct{})
	go func() { g.Enter(NewWaiter()); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiter never went in although the GIL was free")
	}
	if probes.Load() == 0 {
		t.Fatal("waiter went in without looking at the GIL")
	}
	g.Leave()
	g.Leave()
}

// With the GIL held for good (a stuck request), a waiter still goes in after GateMaxWait, to
// wait in CPython as it would without the gate: the gate never makes a deadlock of its own.
func TestGateGivesUpWaitingAfterMaxWait(t *testing.T) {
	g := NewGate(func() bool { return true })
	g.Enter(NewWaiter())
	start := time.Now()
	waited := g.Enter(NewWaiter())
	if time.Since(start) < GateMaxWait || waited < GateMaxWait {
		t.Fatalf("went in after %v (reported %v), before GateMaxWait %v", time.Since(start),
			waited, GateMaxWait)
	}
	g.Leave()
	g.Leave()
}

// Many request threads entering and leaving with the GIL flickering: every Enter returns
// (no lost wake-up), and the gate ends empty. Run with -race.
func TestGateUnderContention(t *testing.T) {
	var held atomic.Bool
	g := NewGate(held.Load)
	var wg sync.WaitGroup
	var inside, maxInside atomic.Int32
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWaiter()
			for j := 0; j < 500; j++ {
				g.Enter(w)
				n := inside.Add(1)
				for m := maxInside.Load(); n > m && !maxInside.CompareAndSwap(m, n); m = maxInside.Load() {
				}
				held.Store(rand.IntN(4) != 0)
				if rand.IntN(50) == 0 {
					time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
				}
				inside.Add(-1)
				g.Leave()
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(2 * time.Minute):
		t.Fatal("requests stuck at the gate")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inside != 0 || len(g.waiters) != 0 {
		t.Fatalf("gate not empty at the end: %d inside, %d waiting", g.inside, len(g.waiters))
	}
	t.Logf("at most %d requests inside at once", maxInside.Load())
}
