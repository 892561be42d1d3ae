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
// longRequests makes g behave as after long requests (no bypass).
func longRequests(g *Gate) *Gate {
	g.avgInside = int64(time.Second)
	return g
}

func TestGateKeepsSecondOutWhileFirstIsInside(t *testing.T) {
	g := longRequests(NewGate(func() bool { return true }))
	first, second := NewWaiter(), NewWaiter()
	g.Enter(first)
	var in atomic.Bool
	done := make(chan time.Duration)
	go func() {
		w := g.Enter(second)
		in.Store(true)
		done <- w
	}()
	time.Sleep(GatePoll * 3)
	if in.Load() {
		t.Fatal("second request went in while the first was inside holding the GIL")
	}
	g.Leave(first)
	if w := <-done; w < GatePoll*3 {
		t.Fatalf("second request reports waiting %v, less than the time it was kept out", w)
	}
	g.Leave(second)
}

// Short requests (a few µs inside on average) go straight in: parking them costs more than
// the GIL handoff it saves. Once they are long, the gate holds the next one back again.
func TestGateBypassesShortRequests(t *testing.T) {
	g := NewGate(func() bool { return true })
	a, b := NewWaiter(), NewWaiter()
	for i := 0; i < 20; i++ { // a short average
		g.Enter(a)
		g.Leave(a)
	}
	g.Enter(a)
	done := make(chan struct{})
	go func() { g.Enter(b); close(done) }()
	select {
	case <-done:
	case <-time.After(GateMaxWait / 2):
		t.Fatal("a short request waited at the gate")
	}
	g.Leave(b)
	time.Sleep(2 * GateBypassBelow)
	for i := 0; i < 40; i++ { // a's long stays pull the average up
		g.mu.Lock()
		long := g.avgInside >= int64(GateBypassBelow)
		g.mu.Unlock()
		if long {
			break
		}
		g.Leave(a)
		g.Enter(a)
		time.Sleep(2 * GateBypassBelow)
	}
	var in atomic.Bool
	go func() { g.Enter(b); in.Store(true) }()
	time.Sleep(GatePoll / 2)
	if in.Load() {
		t.Fatal("after long requests, the next one went in while one was inside")
	}
	g.Leave(a)
	for !in.Load() {
		time.Sleep(time.Millisecond)
	}
	g.Leave(b)
}

// A request inside that released the GIL (I/O) must not keep the others out: the first
// waiter sees the GIL free and goes in while the first request is still inside.
func TestGateLetsWaiterInWhenGILIsFree(t *testing.T) {
	var probes atomic.Int32
	g := longRequests(NewGate(func() bool { probes.Add(1); return false }))
	first, second := NewWaiter(), NewWaiter()
	g.Enter(first)
	done := make(chan struct{})
	go func() { g.Enter(second); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiter never went in although the GIL was free")
	}
	if probes.Load() == 0 {
		t.Fatal("waiter went in without looking at the GIL")
	}
	g.Leave(first)
	g.Leave(second)
}

// With the GIL held for good (a stuck request), a waiter still goes in after GateMaxWait, to
// wait in CPython as it would without the gate: the gate never makes a deadlock of its own.
func TestGateGivesUpWaitingAfterMaxWait(t *testing.T) {
	g := longRequests(NewGate(func() bool { return true }))
	first, second := NewWaiter(), NewWaiter()
	g.Enter(first)
	start := time.Now()
	waited := g.Enter(second)
	if time.Since(start) < GateMaxWait || waited < GateMaxWait {
		t.Fatalf("went in after %v (reported %v), before GateMaxWait %v", time.Since(start),
			waited, GateMaxWait)
	}
	g.Leave(first)
	g.Leave(second)
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
				g.Leave(w)
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
