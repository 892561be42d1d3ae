package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os/signal"
	"syscall"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
)

// Main is the whole of pyhost serve without --processes: the server in this process, with its
// metrics listener (--metrics-listen), until SIGTERM, SIGINT or SIGHUP. It returns the exit
// code.
func Main(cfg config.Config, log *slog.Logger) int {
	return serveHere(Options{Config: cfg, Log: log}, nil)
}

// serveHere is the server in this process: the single-process server, or a worker
// (opts.Worker set), which tells its supervisor on status whether its apps loaded and, once
// drained, its final counters.
func serveHere(opts Options, status *worker.Status) int {
	log := opts.Log
	// SIGHUP stops gracefully too: reloading the code needs worker processes to hand over to
	// (--processes); without them a process manager starts pyhost anew.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT,
		syscall.SIGHUP)
	defer stop()
	// After the first signal starts the graceful shutdown, a second one ends the process at
	// once (the default action), as with other servers.
	go func() { <-ctx.Done(); stop() }()
	var ml *observe.MetricsListener
	if opts.Config.MetricsListen != "" && opts.Worker == nil { // a worker's supervisor serves them
		var err error
		if ml, err = observe.ListenMetrics(opts.Config.MetricsListen, log); err != nil {
			log.Error("pyhost could not start", "error", err)
			return 1
		}
		defer ml.Close()
	}
	defer observe.ReopenOnSIGUSR1(log)()
	srv, err := New(opts)
	if status != nil {
		if err != nil {
			status.Failed(err)
		} else {
			status.Ready()
		}
	}
	if err != nil {
		log.Error("pyhost could not start", "error", err)
		return 1
	}
	srv.sdReady() // a single process's READY=1 (a worker's status.Ready is its supervisor's)
	if ml != nil {
		// The single-process server's control handlers (/metrics, ...) answer there too.
		mux := http.NewServeMux()
		srv.controlHandlers(mux)
		ml.Serve(mux, observe.ReadyUntil(ctx))
	}
	err = srv.Run(ctx)
	if status != nil {
		srv.reportFinalMetrics(status)
	}
	var notFinalized *cgo.NotFinalizedError
	switch {
	case errors.As(err, &notFinalized):
		log.Warn("stopped without finalising Python", "reason", err)
	case err != nil:
		log.Error("pyhost stopped with an error", "error", err)
		return 1
	default:
		log.Info("stopped cleanly")
	}
	return 0
}
