package config

import (
	"flag"
	"fmt"
	"time"
)

// Recycling is when a worker of --processes asks the supervisor for a replacement (started
// first, so the group keeps accepting) and then drains. Zero switches each limit off;
// mod_wsgi's daemon mode has the same options, all off by default too.
type Recycling struct {
	MaximumRequests       int           // recycle after this many requests (0: never)
	MaximumRequestsJitter int           // each worker's limit is in [MaximumRequests, +jitter]
	RestartInterval       time.Duration // recycle after serving this long
	InactivityTimeout     time.Duration // recycle after this long with no request at all
	CPUTimeLimit          time.Duration // recycle after the worker used this much CPU
	MemoryLimit           int64         // recycle when the worker's RSS exceeds this (bytes)
	// StartupTimeout: a worker not ready this long after it started is killed and counted
	// as a boot failure (supervisor side).
	StartupTimeout time.Duration
	// GracefulTimeout: how long a recycled worker's in-flight requests get before the
	// supervisor kills it (0: --shutdown-timeout, like a full stop).
	GracefulTimeout time.Duration
	// BootAttempts: after this many boot failures in a row in one slot (0: no limit) the
	// supervisor gives up (pyhost/supervisor, as it respawns workers).
	BootAttempts int
}

// DefaultBootAttempts lets a slow dependency of the import (a database starting beside the
// app) a few minutes with the back-off (1 s doubling to 30 s: about 2.5 minutes in all).
const DefaultBootAttempts = 10

// recycleFlags defines serve's recycling flags on r.
func recycleFlags(fs *flag.FlagSet, r *Recycling) {
	fs.IntVar(&r.MaximumRequests, "maximum-requests", 0, "with --processes: recycle a "+
		"worker after it served this many requests (0: never; gunicorn's --max-requests)")
	fs.IntVar(&r.MaximumRequestsJitter, "maximum-requests-jitter", 0, "each worker picks "+
		"its --maximum-requests at random up to this many above it, so workers do not "+
		"recycle together")
	fs.DurationVar(&r.RestartInterval, "restart-interval", 0, "with --processes: recycle a "+
		"worker after it has served for this long (0: never)")
	fs.DurationVar(&r.InactivityTimeout, "inactivity-timeout", 0, "with --processes: "+
		"recycle a worker that received no request for this long (0: never)")
	fs.DurationVar(&r.CPUTimeLimit, "cpu-time-limit", 0, "with --processes: recycle a "+
		"worker once it used this much CPU time, user plus system (0: no limit)")
	fs.Var(byteSize{&r.MemoryLimit}, "memory-limit", "with --processes: recycle a worker "+
		"whose resident memory (RSS) grows past this size, e.g. 300MiB (0: no limit)")
	fs.DurationVar(&r.StartupTimeout, "startup-timeout", 0, "with --processes: a worker "+
		"not ready (apps to preload loaded) this long after it started is killed and "+
		"retried like one whose app cannot load (0: wait for ever)")
	fs.IntVar(&r.BootAttempts, "boot-attempts", DefaultBootAttempts, "with --processes: "+
		"how many times in a row a worker may fail to start (its app does not import, or "+
		"--startup-timeout) before the supervisor gives up, stops its other workers and "+
		"exits with status 3, as gunicorn does when a worker cannot boot (0: retry for ever)")
	fs.DurationVar(&r.GracefulTimeout, "graceful-timeout", 0, "with --processes: how long "+
		"a recycled worker's in-flight requests get before it is killed (0: "+
		"--shutdown-timeout); not gunicorn's --graceful-timeout, which is --shutdown-timeout here")
}

// Recycles says whether any limit asks workers to watch themselves.
func (r Recycling) Recycles() bool {
	return r.MaximumRequests > 0 || r.RestartInterval > 0 || r.InactivityTimeout > 0 ||
		r.CPUTimeLimit > 0 || r.MemoryLimit > 0
}

// check refuses negative values, and every recycling flag without --processes: nothing can
// replace the one process that serves, so it could only stop.
func (r Recycling) check(processes int) error {
	for _, f := range []struct {
		name string
		neg  bool
		set  bool
		val  any
	}{
		{"maximum-requests", r.MaximumRequests < 0, r.MaximumRequests != 0, r.MaximumRequests},
		{"maximum-requests-jitter", r.MaximumRequestsJitter < 0, r.MaximumRequestsJitter != 0,
			r.MaximumRequestsJitter},
		{"restart-interval", r.RestartInterval < 0, r.RestartInterval != 0, r.RestartInterval},
		{"inactivity-timeout", r.InactivityTimeout < 0, r.InactivityTimeout != 0,
			r.InactivityTimeout},
		{"cpu-time-limit", r.CPUTimeLimit < 0, r.CPUTimeLimit != 0, r.CPUTimeLimit},
		{"memory-limit", r.MemoryLimit < 0, r.MemoryLimit != 0, formatSize(r.MemoryLimit)},
		{"startup-timeout", r.StartupTimeout < 0, r.StartupTimeout != 0, r.StartupTimeout},
		{"graceful-timeout", r.GracefulTimeout < 0, r.GracefulTimeout != 0, r.GracefulTimeout},
	} {
		if f.neg {
			return fmt.Errorf("--%s %v: must not be negative (0 switches it off)", f.name, f.val)
		}
		if f.set && processes == 0 {
			return fmt.Errorf("--%s %v: needs --processes: a recycled worker is replaced by "+
				"a new one, and without --processes nothing can replace the one process that "+
				"serves (add --processes 1 for one worker under a supervisor)", f.name, f.val)
		}
	}
	if r.BootAttempts < 0 {
		return fmt.Errorf("--boot-attempts %d: must not be negative (0: retry for ever)",
			r.BootAttempts)
	}
	if r.MaximumRequestsJitter > 0 && r.MaximumRequests == 0 {
		return fmt.Errorf("--maximum-requests-jitter %d: only spreads --maximum-requests, "+
			"which is not set", r.MaximumRequestsJitter)
	}
	return nil
}
