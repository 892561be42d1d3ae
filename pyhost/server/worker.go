package server

import (
	"log/slog"
	"sync"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// The worker's side of --processes: the server on the sockets the supervisor bound, telling
// the supervisor over the status pipe when it is ready (or why it could not start), when it
// wants replacing, and its final counters. What crosses between them is pyhost/worker's.

// WorkerMain is a worker process of a supervisor (env: what the supervisor handed it; log
// names the worker): it serves until SIGTERM and returns the exit code.
func WorkerMain(cfg config.Config, env worker.Env, log *slog.Logger) int {
	status := env.OpenStatus()
	defer status.Close()
	if err := status.SendCrashReports(); err != nil {
		log.Warn("the supervisor will not see this worker's crash reports", "error", err)
	}
	lns, control, err := env.Inherit()
	// Python reads the environment when it starts (in New): a pyhost the app runs must not
	// take itself for a worker.
	worker.ClearEnv()
	if err != nil {
		status.Failed(err)
		log.Error("pyhost worker could not start", "error", err)
		return 1
	}
	var recycleOnce sync.Once
	return serveHere(Options{Config: cfg, Log: log, Worker: &WorkerLink{
		Listeners:  lns,
		FrontAddrs: env.FrontAddrs,
		Control:    control,
		Recycle: func(reason worker.RecycleReason, detail string) {
			recycleOnce.Do(func() { status.Recycle(reason, detail) })
		},
	}}, status)
}
