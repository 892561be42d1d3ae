package observe

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
)

// The metrics of one server process (the single-process server, or one worker): a registry of
// its own (not client_golang's global one, which anything linked in could fill), fed per
// request by an Observer and read at scrape time for the rest. A worker's registry is read by
// the supervisor through the worker control channel, which adds the worker's slot; the
// single-process server serves it on --metrics-listen itself (MetricsListener).

// Buckets, in seconds. Waits for the GIL or a request thread are microseconds when nothing
// contends and up to seconds when everything does: a wide exponential range shows both.
var (
	durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	waitBuckets     = prometheus.ExponentialBuckets(1e-6, 4, 11) // 1µs … ~1s
)

// Metrics is one server process's registry and the Observer that feeds it. A nil *Metrics is
// the no-op metrics of a process without --metrics-listen: every method may be called on it
// and keeps nothing, so callers need not check.
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	reqBytes   *prometheus.CounterVec
	respBytes  *prometheus.CounterVec
	gilWait    *prometheus.HistogramVec
	queueWait  *prometheus.HistogramVec
	interps    *prometheus.GaugeVec
	gilEnabled *prometheus.GaugeVec
	// gilEnabledBy: per group, what switched its GIL back on (GILModulesPerGroup at most).
	gilEnabledBy *prometheus.GaugeVec

	// series caches the label-resolved metrics of each kind of request, so that a request
	// costs a map lookup instead of hashing its labels once per metric.
	series sync.Map // seriesKey → *requestSeries
}

// MetricsOptions is what the metrics of a server process need to know of it.
type MetricsOptions struct {
	ProcessGroup string       // the config file's process group ("": serve's command line)
	Threads      *gil.Limiter // the request threads, read at each scrape; nil: RequestsOnly
	// RequestsOnly keeps the request series only (no threads, interpreters, Go or process
	// collectors): the supervisor's router, whose process the supervisor describes itself.
	// Its series carry worker="supervisor", as the supervisor's own do.
	RequestsOnly bool
	// FreeThreaded: the process runs without the GIL (--gil free on a free-threaded Python),
	// so an extension module can switch it back on: pyhost_gil_reenabled is kept.
	FreeThreaded bool
}

// seriesKey is what the labels of one request's metrics depend on.
type seriesKey struct {
	group  string
	interp int
	method string // a method class (methodClass)
	status int    // a status class: 1…5, 0 for none
}

type requestSeries struct {
	requests, reqBytes, respBytes prometheus.Counter
	duration                      prometheus.Observer
	queueWait, gilWait            prometheus.Observer // nil when no app ran
}

// NewMetrics makes a server process's metrics.
func NewMetrics(o MetricsOptions) *Metrics {
	threads := o.Threads
	m := &Metrics{reg: prometheus.NewRegistry()}
	constPG := prometheus.Labels{"process_group": config.ProcessGroupName(o.ProcessGroup)}
	if o.RequestsOnly {
		constPG["worker"] = "supervisor"
	}
	f := promauto.With(m.reg)
	m.requests = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_requests_total",
		Help: "Requests answered, by application group, method class (GET, HEAD, POST, PUT, " +
			"PATCH, DELETE, OPTIONS, other) and status class (2xx...; none: no response).",
		ConstLabels: constPG}, []string{"application_group", "method", "status"})
	m.duration = f.NewHistogramVec(prometheus.HistogramOpts{Name: "pyhost_request_duration_seconds",
		Help:        "Time from a request's arrival to the end of its response, by application group.",
		ConstLabels: constPG, Buckets: durationBuckets}, []string{"application_group"})
	m.reqBytes = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_request_body_bytes_total",
		Help:        "Request body bytes the applications could read, by application group.",
		ConstLabels: constPG}, []string{"application_group"})
	m.respBytes = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_response_body_bytes_total",
		Help:        "Response body bytes written, by application group.",
		ConstLabels: constPG}, []string{"application_group"})
	m.gilWait = f.NewHistogramVec(prometheus.HistogramOpts{Name: "pyhost_gil_wait_seconds",
		Help: "How long a request thread waited to attach its thread state (take the GIL) " +
			"before running the application, by application group and interpreter index.",
		ConstLabels: constPG, Buckets: waitBuckets}, []string{"application_group", "interpreter"})
	m.queueWait = f.NewHistogramVec(prometheus.HistogramOpts{Name: "pyhost_queue_wait_seconds",
		Help:        "How long a request waited for a free request thread, by application group.",
		ConstLabels: constPG, Buckets: waitBuckets}, []string{"application_group"})
	m.interps = f.NewGaugeVec(prometheus.GaugeOpts{Name: "pyhost_interpreters",
		Help: "Interpreters of each application group loaded in this process, with the " +
			"process's GIL mode.", ConstLabels: constPG}, []string{"application_group", "gil_mode"})
	if o.RequestsOnly {
		return m
	}
	if o.FreeThreaded {
		m.gilEnabled = f.NewGaugeVec(prometheus.GaugeOpts{Name: "pyhost_gil_reenabled",
			Help: "1 when an extension module without free-threading support switched the GIL " +
				"back on in the application group (when its app loaded or in a request since), else 0.",
			ConstLabels: constPG}, []string{"application_group"})
		m.gilEnabledBy = f.NewGaugeVec(prometheus.GaugeOpts{Name: "pyhost_gil_reenabled_by",
			Help: "1 for each extension module (or PYTHON_GIL=1) that switched the GIL back on in " +
				"the application group; at most 8 modules a group, the rest as module=\"other\".",
			ConstLabels: constPG}, []string{"application_group", "module"})
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pyhost_request_threads",
			Help: "Request threads of this process (--threads).", ConstLabels: constPG},
			func() float64 { return float64(threads.Threads()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pyhost_request_threads_busy",
			Help: "Request threads running a request now.", ConstLabels: constPG},
			func() float64 { return float64(threads.Busy()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pyhost_requests_queued",
			Help: "Requests waiting for a free request thread now.", ConstLabels: constPG},
			func() float64 { return float64(threads.Waiting()) }),
		GoRuntimeCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Observe is the metrics' Observer.
func (m *Metrics) Observe(f *Finished) {
	if m == nil {
		return
	}
	rec := &f.WSGI
	k := seriesKey{group: rec.Group, interp: rec.Interp, method: methodClass(f.Request.Method),
		status: f.Status / 100}
	if k.status < 1 || k.status > 5 {
		k.status = 0
	}
	s := m.seriesFor(k)
	s.requests.Inc()
	s.respBytes.Add(float64(f.Bytes))
	s.duration.Observe(f.Duration.Seconds())
	if s.gilWait == nil { // no app ran: a refusal, a static file
		return
	}
	s.reqBytes.Add(float64(rec.RequestBodyBytes))
	s.queueWait.Observe(rec.QueueWait.Seconds())
	s.gilWait.Observe(rec.GILWait.Seconds())
}

func (m *Metrics) seriesFor(k seriesKey) *requestSeries {
	if s, ok := m.series.Load(k); ok {
		return s.(*requestSeries)
	}
	status := "none"
	if k.status > 0 {
		status = strconv.Itoa(k.status) + "xx"
	}
	s := &requestSeries{
		requests:  m.requests.WithLabelValues(k.group, k.method, status),
		reqBytes:  m.reqBytes.WithLabelValues(k.group),
		respBytes: m.respBytes.WithLabelValues(k.group),
		duration:  m.duration.WithLabelValues(k.group),
	}
	if k.interp >= 0 {
		s.queueWait = m.queueWait.WithLabelValues(k.group)
		s.gilWait = m.gilWait.WithLabelValues(k.group, strconv.Itoa(k.interp))
	}
	actual, _ := m.series.LoadOrStore(k, s)
	return actual.(*requestSeries)
}

// methodClass keeps the method label's values few: a client can send any token.
func methodClass(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// Loaded notes an application group's interpreters once its app has loaded.
func (m *Metrics) Loaded(group string, interpreters int, mode gil.Mode) {
	if m == nil {
		return
	}
	m.interps.WithLabelValues(group, string(mode)).Set(float64(interpreters))
}

// GILReport notes whether an extension switched the GIL back on in a group (free-threading).
func (m *Metrics) GILReport(group string, enabled bool) {
	if m == nil || m.gilEnabled == nil {
		return
	}
	v := 0.0
	if enabled {
		v = 1
	}
	m.gilEnabled.WithLabelValues(group).Set(v)
}

// GILModulesPerGroup bounds the pyhost_gil_reenabled_by series of a group: past it, the
// caller passes module "other".
const GILModulesPerGroup = 8

// GILReenabledBy notes what switched the GIL back on in a group (see GILModulesPerGroup).
func (m *Metrics) GILReenabledBy(group, module string) {
	if m == nil || m.gilEnabledBy == nil {
		return
	}
	m.gilEnabledBy.WithLabelValues(group, module).Set(1)
}

// Handler serves the metrics in Prometheus's text format (/metrics); the no-op metrics
// answer 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no metrics: pyhost runs without --metrics-listen", http.StatusNotFound)
		})
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gather returns the metrics' current values (prometheus.Gatherer); the no-op metrics have
// none.
func (m *Metrics) Gather() ([]*dto.MetricFamily, error) {
	if m == nil {
		return nil, nil
	}
	return m.reg.Gather()
}
