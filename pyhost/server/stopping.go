package server

import (
	"sync"
	"time"

	"github.com/pyhost/pyhost/pyhost/worker"
)

// Why a process stops, told to the apps that subscribed to the pyhost module's events
// (process_stopping, with reason and detail) once its last request has ended.

// stopReason holds the first reason given; without one the process stops on a signal.
type stopReason struct {
	mu             sync.Mutex
	reason, detail string
}

// set records why the process is about to stop; only the first call counts.
func (r *stopReason) set(reason, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason == "" {
		r.reason, r.detail = reason, detail
	}
}

func (r *stopReason) get() (reason, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason == "" {
		// SIGTERM, SIGINT or SIGHUP: from a process manager, a person or the supervisor.
		return "shutdown", "pyhost was told to stop (SIGTERM, SIGINT or SIGHUP)"
	}
	return r.reason, r.detail
}

// recycling wraps a worker's recycle callback so that the detail it gives becomes the
// process_stopping event's too (nil stays nil).
func (s *Server) recycling(recycle func(reason worker.RecycleReason, detail string),
) func(reason worker.RecycleReason, detail string) {
	if recycle == nil {
		return nil
	}
	return func(reason worker.RecycleReason, detail string) {
		s.stopReason.set("recycle", detail)
		recycle(reason, detail)
	}
}

// notifyStopping delivers process_stopping in every interpreter whose app subscribed; no
// request runs any more. Run's bound on finalising covers it too.
func (s *Server) notifyStopping() {
	reason, detail := s.stopReason.get()
	start := time.Now()
	if n := s.rt.NotifyStopping(reason, detail); n > 0 {
		s.log.Info("process_stopping delivered to the apps' event callbacks", "reason", reason,
			"interpreters", n, "took", time.Since(start).Round(time.Millisecond).String())
	}
}
