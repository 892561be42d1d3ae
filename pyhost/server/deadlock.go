package server

import (
	"log/slog"
	"sync"
	"time"

	"github.com/pyhost/pyhost/cgo"
)

// deadlockWatch is --deadlock-timeout: it takes and gives back the GIL of every interpreter
// (each has its own under --gil own) a few times per timeout, each probe on its own goroutine,
// and reports an interpreter whose GIL could not be taken for the whole timeout: C code that
// never lets go of it, or a deadlock inside it, has stopped every request of that
// interpreter, and only a new process brings them back. (mod_wsgi probes only the main
// interpreter.)
type deadlockWatch struct {
	rt      *cgo.Runtime
	log     *slog.Logger
	timeout time.Duration
	recycle func(reason string)

	stop     chan struct{}
	loopDone chan struct{}
	probes   sync.WaitGroup

	mu       sync.Mutex
	probing  map[*cgo.Interp]time.Time // interpreter → when its probe in flight started
	reported map[*cgo.Interp]bool
}

func startDeadlockWatch(rt *cgo.Runtime, log *slog.Logger, timeout time.Duration,
	recycle func(string)) *deadlockWatch {
	d := &deadlockWatch{rt: rt, log: log, timeout: timeout, recycle: recycle,
		stop: make(chan struct{}), loopDone: make(chan struct{}),
		probing: map[*cgo.Interp]time.Time{}, reported: map[*cgo.Interp]bool{}}
	go d.loop()
	return d
}

func (d *deadlockWatch) loop() {
	defer close(d.loopDone)
	tick := time.NewTicker(min(max(d.timeout/4, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
			d.round()
		}
	}
}

// round starts a probe of every interpreter that has none in flight and reports those whose
// probe has waited for the timeout.
func (d *deadlockWatch) round() {
	now := time.Now()
	for _, in := range d.rt.Interps() {
		d.mu.Lock()
		since, busy := d.probing[in]
		if busy {
			report := now.Sub(since) >= d.timeout && !d.reported[in]
			if report {
				d.reported[in] = true
			}
			d.mu.Unlock()
			if report {
				d.report(in, now.Sub(since))
			}
			continue
		}
		d.probing[in] = now
		d.probes.Add(1)
		d.mu.Unlock()
		go d.probe(in)
	}
}

func (d *deadlockWatch) probe(in *cgo.Interp) {
	defer d.probes.Done()
	in.ProbeGIL()
	d.mu.Lock()
	since := d.probing[in]
	delete(d.probing, in)
	wasReported := d.reported[in]
	delete(d.reported, in)
	d.mu.Unlock()
	if wasReported {
		d.log.Warn("the GIL reported deadlocked could be taken again", "application_group", in.Name,
			"after", time.Since(since).Round(time.Millisecond).String())
	}
}

func (d *deadlockWatch) report(in *cgo.Interp, waited time.Duration) {
	reason := "the GIL of application group " + in.Name + " could not be taken for " +
		"--deadlock-timeout: C code holds it without letting go, or is deadlocked"
	d.log.Error("RECYCLE NEEDED: "+reason+"; every request of that group is stuck, and this "+
		"worker should be recycled (with a process supervisor it is; a single process cannot "+
		"get the GIL back)", "application_group", in.Name, "deadlock_timeout", d.timeout.String(),
		"waited", waited.Round(time.Millisecond).String())
	if d.recycle != nil {
		d.recycle(reason)
	}
}

// stopAndWait ends the watch and waits up to limit for the probes in flight. false: a probe
// still waits for a GIL, and Python must not be finalised under it.
func (d *deadlockWatch) stopAndWait(limit time.Duration) bool {
	close(d.stop)
	<-d.loopDone
	done := make(chan struct{})
	go func() { d.probes.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

// longestProbe is how long the oldest probe in flight has waited for its GIL (0: none
// waits).
func (d *deadlockWatch) longestProbe() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var longest time.Duration
	for _, since := range d.probing {
		longest = max(longest, time.Since(since))
	}
	return longest
}
