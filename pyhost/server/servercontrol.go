package server

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/pyhost/worker"
	"github.com/pyhost/pyhost/wsgi/request"
)

// What a serving process answers on its control channel (the supervisor asks a worker for
// its metrics and threads) and reports on its status pipe as it ends.

// controlHandlers registers the endpoints of the worker control channel on mux. The
// single-process server serves the same handlers on its metrics listener, so an endpoint
// written once answers in both modes.
func (s *Server) controlHandlers(mux *http.ServeMux) {
	mux.Handle("GET /metrics", s.metrics.Handler())
	if s.table != nil {
		mux.Handle("GET /debug/threads", s.threadsHandler())
	}
}

// serveControl answers the supervisor's queries on ln until the process exits: a draining
// worker still answers (its last values are what the supervisor keeps of it).
func (s *Server) serveControl(ln net.Listener) {
	mux := http.NewServeMux()
	s.controlHandlers(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
}

// localThreads is this process's part of the view.
func (s *Server) localThreads(q observe.ThreadsQuery) observe.ProcessThreads {
	p := observe.ProcessThreads{PID: os.Getpid(), ProcessGroup: config.ProcessGroupName(s.cfg.ProcessGroup),
		Slot: -1, Threads: s.threads.Threads(), Busy: s.threads.Busy(),
		Requests: []request.BusyThread{}, GIL: s.gilView()}
	if s.table != nil {
		for _, rt := range s.table.Busy(q.Stacks, q.Wait) {
			p.Requests = append(p.Requests, rt.BusyThread)
		}
	}
	return p
}

// threadsHandler answers /debug/threads for this process alone.
func (s *Server) threadsHandler() http.Handler {
	return observe.ThreadsHandler(func(_ *http.Request, q observe.ThreadsQuery) []observe.ProcessThreads {
		return []observe.ProcessThreads{s.localThreads(q)}
	})
}

// reportFinalMetrics sends the worker's counters to the supervisor once it has drained.
func (s *Server) reportFinalMetrics(status *worker.Status) {
	log := s.log
	mfs, err := s.metrics.Gather()
	if err != nil {
		log.Warn("gathering the final metrics", "error", err)
	}
	if len(mfs) == 0 { // no metrics kept (no --metrics-listen)
		return
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range mfs {
		switch mf.GetType() {
		case dto.MetricType_GAUGE, dto.MetricType_UNTYPED, dto.MetricType_GAUGE_HISTOGRAM:
			continue // a live process's state: the supervisor keeps none of a retired one
		}
		if err := enc.Encode(mf); err != nil {
			log.Warn("encoding the final metrics", "error", err)
			return
		}
	}
	if err := status.Metrics(buf.Bytes()); err != nil {
		log.Warn("the final metrics are too large for the status pipe; the supervisor keeps "+
			"what its last scrape saw of this worker", "error", err)
	}
}
