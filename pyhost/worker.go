package pyhost

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// The worker's side of --processes: today's server on the sockets the supervisor bound,
// telling the supervisor over the status pipe when it is ready (or why it could not start).

// Status-pipe events, one line each.
const (
	eventReady  = "ready"  // the apps to preload are loaded; accepting from now on
	eventFailed = "failed" // followed by a one-line summary: the worker could not start
)

// runWorker serves as one worker of a supervisor and returns the exit code.
func runWorker(cfg Config, log *slog.Logger) int {
	status := statusPipe(len(cfg.Listen))
	defer status.Close()
	lns, err := inheritedListeners()
	if err == nil && len(lns) != len(cfg.Listen) {
		err = fmt.Errorf("pyhost worker: inherited %d listeners for %d --listen addresses",
			len(lns), len(cfg.Listen))
	}
	if err != nil {
		report(status, eventFailed, err.Error())
		log.Error("pyhost worker could not start", "error", err)
		return 1
	}
	return serveHere(cfg, log, lns, func(err error) {
		if err != nil {
			report(status, eventFailed, err.Error())
			return
		}
		report(status, eventReady, "")
	})
}

// report writes one event line; a supervisor that is gone cannot read it, and the
// parent-death signal ends this worker soon anyway, so a failed write is not an error here.
func report(status *os.File, event, detail string) {
	line := event
	if detail != "" {
		// One line per event: a summary, never a whole traceback (the worker logs that).
		first, _, _ := strings.Cut(detail, "\n")
		line += " " + first
	}
	_, _ = status.WriteString(line + "\n")
}
