package supervisor

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/pyhost/pyhost/pyhost/observe"
	"google.golang.org/protobuf/proto"
)

// The supervisor's /metrics: every live worker's registry, gathered through the worker
// control channel when scraped and labelled with its process group and slot (worker), plus
// the supervisor's own series (worker starts, exits and recycles). A slot's counters never go
// backwards when its worker is replaced: each worker reports its final counters once it has
// drained (a Metrics event on its status pipe), and a slot's series are the sum of its retired
// workers' final values and its live workers' current ones. A worker that dies without
// reporting (a crash) leaves what the last scrape saw of it.

// workerScrapeTimeout bounds how long a scrape waits for the workers (Prometheus's default
// scrape timeout is 10 s); a worker that does not answer in time counts with its last values.
const workerScrapeTimeout = 3 * time.Second

// slotKey is a slot's identity as its series are labelled: its process group as its workers
// name it in their own series (a config file's group by its name, serve's command line
// "default") and its index in the group.
type slotKey struct {
	group string
	slot  int
}

type supervisorMetrics struct {
	reg          *prometheus.Registry
	starts       *prometheus.CounterVec
	exits        *prometheus.CounterVec
	recycles     *prometheus.CounterVec
	scrapeErrors *prometheus.CounterVec
	query        func(ctx context.Context, path string) []workerReply
	router       prometheus.Gatherer // the router's own answers (nil *observe.Metrics: none)
	log          *slog.Logger

	gatherMu sync.Mutex // one gathering at a time, so that answers are stored in order
	mu       sync.Mutex
	live     map[int]*liveWorker // by child id
	retired  map[slotKey]familySet
}

type liveWorker struct {
	key   slotKey
	last  []*dto.MetricFamily // the latest values seen (nil: none yet)
	final bool                // last holds its final values: later answers are older
}

func newSupervisorMetrics(s *supervisor) *supervisorMetrics {
	m := &supervisorMetrics{reg: prometheus.NewRegistry(), query: s.queryWorkers, log: s.log,
		router: s.routerMetrics,
		live:   map[int]*liveWorker{}, retired: map[slotKey]familySet{}}
	f := promauto.With(m.reg)
	m.starts = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_worker_starts_total",
		Help: "Worker processes started, by process group and slot."},
		[]string{"process_group", "worker"})
	m.exits = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_worker_exits_total",
		Help: "Worker processes that exited, by process group, slot and reason (stopped: " +
			"drained on request; error: drained but exited with an error; killed: still " +
			"running after its timeout; boot-failure: died before it was ready; crash: died " +
			"while serving)."}, []string{"process_group", "worker", "reason"})
	m.recycles = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_worker_recycles_total",
		Help: "Workers replaced while serving, by process group, slot and reason " +
			"(maximum-requests, restart-interval, inactivity-timeout, cpu-time-limit, " +
			"memory-limit, request-timeout, deadlock, reload, crash, other)."},
		[]string{"process_group", "worker", "reason"})
	m.scrapeErrors = f.NewCounterVec(prometheus.CounterOpts{Name: "pyhost_worker_scrape_errors_total",
		Help: "Scrapes in which a live worker could not be read (its last values were used)."},
		[]string{"process_group", "worker"})
	own := prometheus.WrapRegistererWith(prometheus.Labels{"worker": "supervisor"}, m.reg)
	own.MustRegister(observe.GoRuntimeCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *supervisorMetrics) handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{m.reg, m, m.router},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
			ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
}

func (k slotKey) labels(more ...string) []string {
	return append([]string{k.group, strconv.Itoa(k.slot)}, more...)
}

// The supervisor's loop tells the metrics of each child's start, replacement and exit; on a
// nil *supervisorMetrics (no --metrics-listen) these do nothing. A child is known by its id
// (child.id), its series by its slot's key.

// started counts a new child of slot k and starts tracking its values.
func (m *supervisorMetrics) started(id int, k slotKey) {
	if m == nil {
		return
	}
	m.starts.WithLabelValues(k.labels()...).Inc()
	m.mu.Lock()
	m.live[id] = &liveWorker{key: k}
	m.mu.Unlock()
}

// recycled counts the replacement of slot k's serving worker; reason is the label value: a
// worker.RecycleReason's, or "reload" or "crash".
func (m *supervisorMetrics) recycled(k slotKey, reason string) {
	if m == nil {
		return
	}
	m.recycles.WithLabelValues(k.labels(reason)...).Inc()
}

// final stores a child's final values from its status pipe (a Metrics event).
func (m *supervisorMetrics) final(id, pid int, payload []byte) {
	if m == nil {
		return
	}
	mfs, err := decodeFinalMetrics(payload)
	if err != nil {
		m.log.Warn("could not read a worker's final metrics; its slot keeps what the last "+
			"scrape saw of it", "pid", pid, "error", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if lw := m.live[id]; lw != nil {
		lw.last, lw.final = mfs, true
	}
}

// exited counts a child's exit and adds its last values to its slot's retired ones.
func (m *supervisorMetrics) exited(id int, reason string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	lw := m.live[id]
	delete(m.live, id)
	if lw == nil {
		return
	}
	m.exits.WithLabelValues(lw.key.labels(reason)...).Inc()
	if lw.last == nil {
		return
	}
	set := m.retired[lw.key]
	if set == nil {
		set = familySet{}
		m.retired[lw.key] = set
	}
	set.add(lw.last, false)
}

// Gather is the workers' side of the supervisor's /metrics (prometheus.Gatherer).
func (m *supervisorMetrics) Gather() ([]*dto.MetricFamily, error) {
	m.gatherMu.Lock()
	defer m.gatherMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), workerScrapeTimeout)
	defer cancel()
	replies := m.query(ctx, "/metrics")
	parsed := make([][]*dto.MetricFamily, len(replies))
	errs := make([]error, len(replies))
	for i, r := range replies {
		parsed[i], errs[i] = parseWorkerMetrics(r)
	}
	m.mu.Lock()
	for i, r := range replies {
		lw := m.live[r.id]
		if lw == nil { // exited meanwhile: its values are retired already
			continue
		}
		if errs[i] != nil {
			m.scrapeErrors.WithLabelValues(lw.key.labels()...).Inc()
			continue
		}
		if !lw.final {
			lw.last = parsed[i]
		}
	}
	slots := map[slotKey]familySet{}
	for k, set := range m.retired {
		slots[k] = set.clone()
	}
	for _, lw := range m.live {
		if lw.last == nil {
			continue
		}
		if slots[lw.key] == nil {
			slots[lw.key] = familySet{}
		}
		slots[lw.key].add(lw.last, true)
	}
	m.mu.Unlock()
	return labelSlots(slots), nil
}

func parseWorkerMetrics(r workerReply) ([]*dto.MetricFamily, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	if r.Status != 200 {
		return nil, errors.New("worker answered " + strconv.Itoa(r.Status))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		out = append(out, mf)
	}
	return out, nil
}

// labelSlots turns each slot's families into one list, every series labelled with its
// process group (when the worker did not say it) and slot.
func labelSlots(slots map[slotKey]familySet) []*dto.MetricFamily {
	byName := map[string]*dto.MetricFamily{}
	for k, set := range slots {
		slot := strconv.Itoa(k.slot)
		for name, acc := range set {
			out := byName[name]
			if out == nil {
				out = &dto.MetricFamily{Name: acc.mf.Name, Help: acc.mf.Help, Type: acc.mf.Type}
				byName[name] = out
			}
			for _, sig := range acc.order {
				met := acc.series[sig]
				if !hasLabel(met, "process_group") {
					met.Label = append(met.Label, labelPair("process_group", k.group))
				}
				met.Label = append(met.Label, labelPair("worker", slot))
				sort.Slice(met.Label, func(i, j int) bool { return met.Label[i].GetName() < met.Label[j].GetName() })
				out.Metric = append(out.Metric, met)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	mfs := make([]*dto.MetricFamily, 0, len(names))
	for _, n := range names {
		mfs = append(mfs, byName[n])
	}
	return mfs
}

func hasLabel(m *dto.Metric, name string) bool {
	for _, l := range m.Label {
		if l.GetName() == name {
			return true
		}
	}
	return false
}

func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)}
}

// familySet sums the series of several processes of one slot, by family and label set.
type familySet map[string]*familyAcc

type familyAcc struct {
	mf     *dto.MetricFamily // name, help, type
	series map[string]*dto.Metric
	order  []string // series signatures in the order first seen
}

func (s familySet) clone() familySet {
	out := make(familySet, len(s))
	for name, acc := range s {
		c := &familyAcc{mf: acc.mf, series: make(map[string]*dto.Metric, len(acc.series)),
			order: append([]string(nil), acc.order...)}
		for sig, m := range acc.series {
			c.series[sig] = proto.Clone(m).(*dto.Metric)
		}
		out[name] = c
	}
	return out
}

// add sums mfs into s. Gauges (and untyped values) are a live process's state, not a count:
// a retired process's are left out (withGauges false).
func (s familySet) add(mfs []*dto.MetricFamily, withGauges bool) {
	for _, mf := range mfs {
		t := mf.GetType()
		if !withGauges && (t == dto.MetricType_GAUGE || t == dto.MetricType_UNTYPED ||
			t == dto.MetricType_GAUGE_HISTOGRAM) {
			continue
		}
		acc := s[mf.GetName()]
		if acc == nil {
			acc = &familyAcc{mf: &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type},
				series: map[string]*dto.Metric{}}
			s[mf.GetName()] = acc
		}
		if acc.mf.GetType() != t { // two versions of pyhost disagree: keep the first
			continue
		}
		for _, m := range mf.Metric {
			sig := signature(m)
			have := acc.series[sig]
			if have == nil {
				c := proto.Clone(m).(*dto.Metric)
				c.TimestampMs = nil
				if !withGauges && c.Summary != nil { // a dead process's quantiles say nothing now
					c.Summary.Quantile = nil
				}
				acc.series[sig] = c
				acc.order = append(acc.order, sig)
				continue
			}
			sumInto(have, m)
		}
	}
}

func signature(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.Label {
		b.WriteString(l.GetName())
		b.WriteByte(0)
		b.WriteString(l.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

// sumInto adds m's values to have's (the same series of another process of the slot).
func sumInto(have, m *dto.Metric) {
	switch {
	case have.Counter != nil && m.Counter != nil:
		have.Counter.Value = proto.Float64(have.Counter.GetValue() + m.Counter.GetValue())
	case have.Gauge != nil && m.Gauge != nil:
		have.Gauge.Value = proto.Float64(have.Gauge.GetValue() + m.Gauge.GetValue())
	case have.Untyped != nil && m.Untyped != nil:
		have.Untyped.Value = proto.Float64(have.Untyped.GetValue() + m.Untyped.GetValue())
	case have.Histogram != nil && m.Histogram != nil:
		h, o := have.Histogram, m.Histogram
		h.SampleCount = proto.Uint64(h.GetSampleCount() + o.GetSampleCount())
		h.SampleSum = proto.Float64(h.GetSampleSum() + o.GetSampleSum())
		if len(h.Bucket) == len(o.Bucket) { // the same binary: the same buckets
			for i, b := range h.Bucket {
				b.CumulativeCount = proto.Uint64(b.GetCumulativeCount() + o.Bucket[i].GetCumulativeCount())
			}
		}
	case have.Summary != nil && m.Summary != nil:
		// Quantiles of two processes do not add up: only the count and sum are kept.
		have.Summary.SampleCount = proto.Uint64(have.Summary.GetSampleCount() + m.Summary.GetSampleCount())
		have.Summary.SampleSum = proto.Float64(have.Summary.GetSampleSum() + m.Summary.GetSampleSum())
		have.Summary.Quantile = nil
	}
}

// exitReason says why a worker exited, as pyhost_worker_exits_total's reason.
func exitReason(prev workerState, ps *os.ProcessState) string {
	switch prev {
	case workerDraining:
		if ps.Success() || stoppedBySIGTERM(ps) {
			return "stopped"
		}
		return "error"
	case workerStopping:
		return "killed"
	case workerStarting:
		return "boot-failure"
	}
	return "crash"
}

func decodeFinalMetrics(payload []byte) ([]*dto.MetricFamily, error) {
	dec := expfmt.NewDecoder(bytes.NewReader(payload), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var out []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		out = append(out, mf)
	}
}
