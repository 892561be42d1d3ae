package server

import (
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pyhost/pyhost/pyhost/config"
	workerproto "github.com/pyhost/pyhost/pyhost/worker"
)

// The worker's side of --processes: today's server on the sockets the supervisor bound,
// telling the supervisor over the status pipe when it is ready (or why it could not start).
// What crosses between them is pyhost/worker's.

// runWorker serves as one worker of a supervisor and returns the exit code.
func runWorker(cfg config.Config, env workerproto.Env, log *slog.Logger) int {
	status := env.OpenStatus()
	defer status.Close()
	if err := status.SendCrashReports(); err != nil {
		log.Warn("the supervisor will not see this worker's crash reports", "error", err)
	}
	lns, control, err := env.Inherit()
	// Python reads the environment when it starts, below: a pyhost the app runs must not
	// take itself for a worker.
	workerproto.ClearEnv()
	if err == nil && len(lns) != len(cfg.Listen) {
		err = fmt.Errorf("pyhost worker: inherited %d listeners for %d --listen addresses",
			len(lns), len(cfg.Listen))
	}
	if err != nil {
		status.Failed(err)
		log.Error("pyhost worker could not start", "error", err)
		return 1
	}
	var recycleOnce sync.Once
	return serveHere(cfg, log, lns, &workerLink{
		loaded: func(err error) {
			if err != nil {
				status.Failed(err)
				return
			}
			status.Ready()
		},
		recycle: func(reason workerproto.RecycleReason, detail string) {
			recycleOnce.Do(func() { status.Recycle(reason, detail) })
		},
		control: control,
		stopped: func(srv *Server) { reportFinalMetrics(status, srv, log) },
	})
}

// workerLink is what a worker adds to serveHere.
type workerLink struct {
	loaded  func(error)   // told whether the apps loaded
	control net.Listener  // the worker control channel (nil: none)
	stopped func(*Server) // once the server has drained, before the process exits
	// recycle asks the supervisor for a replacement.
	recycle func(reason workerproto.RecycleReason, detail string)
}
