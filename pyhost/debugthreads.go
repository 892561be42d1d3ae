package pyhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/wsgi"
)

// /debug/threads: what every request thread of every worker is doing now, and with
// ?stacks=1 the Python stack of each — the first thing to look at when a server hangs. A
// process answers for itself (the single-process server on its metrics listener, a worker on
// its control channel); the supervisor asks every worker and puts the answers together.

// threadsView is the answer: every process, with its busy request threads.
type threadsView struct {
	Time      time.Time        `json:"time"`
	Processes []processThreads `json:"processes"`
}

// processThreads is one process's request threads. Requests lists the busy ones, the
// longest-running first.
type processThreads struct {
	PID          int                  `json:"pid"`
	ProcessGroup string               `json:"process_group"`
	Slot         int                  `json:"slot"` // the worker's slot in its group; -1: no supervisor
	State        string               `json:"state,omitempty"`
	Threads      int                  `json:"threads"`
	Busy         int                  `json:"busy"`
	Requests     []wsgi.RequestThread `json:"requests"`
	// Error says why a worker's threads are missing (it did not answer in time).
	Error string `json:"error,omitempty"`
}

// defaultStackWait bounds how long a stack request waits for an interpreter's GIL.
const defaultStackWait = time.Second

// threadsQuery is what a /debug/threads request asks for.
type threadsQuery struct {
	stacks bool
	wait   time.Duration
	text   bool
}

func parseThreadsQuery(r *http.Request) (threadsQuery, error) {
	q := threadsQuery{wait: defaultStackWait}
	v := r.URL.Query()
	switch s := v.Get("stacks"); s {
	case "", "0", "false":
	case "1", "true":
		q.stacks = true
	default:
		return q, fmt.Errorf("stacks=%q: want 1 or 0", s)
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Minute {
			return q, fmt.Errorf("wait=%q: want a duration such as 500ms, at most 1m", s)
		}
		q.wait = d
	}
	switch f := v.Get("format"); f {
	case "text":
		q.text = true
	case "json":
	case "":
		accept := r.Header.Get("Accept")
		q.text = strings.Contains(accept, "text/plain") && !strings.Contains(accept, "json")
	default:
		return q, fmt.Errorf("format=%q: want json or text", f)
	}
	return q, nil
}

// localThreads is this process's part of the view.
func (s *Server) localThreads(q threadsQuery) processThreads {
	p := processThreads{PID: os.Getpid(), ProcessGroup: observe.ProcessGroupLabel(s.cfg.ProcessGroup),
		Slot: -1, Threads: s.threads.Threads(), Busy: s.threads.Busy(),
		Requests: []wsgi.RequestThread{}}
	if s.table != nil {
		if rs := s.table.Busy(q.stacks, q.wait); rs != nil {
			p.Requests = rs
		}
	}
	return p
}

// threadsHandler answers /debug/threads for this process alone.
func (s *Server) threadsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseThreadsQuery(r)
		if err != nil {
			http.Error(w, "/debug/threads: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeThreads(w, q, threadsView{Time: time.Now(), Processes: []processThreads{s.localThreads(q)}})
	})
}

func writeThreads(w http.ResponseWriter, q threadsQuery, v threadsView) {
	w.Header().Set("Cache-Control", "no-store")
	if q.text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeThreadsText(w, v)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeThreadsText is the plain-text form: one block per process, one line per busy request
// thread, its stack indented below it.
func writeThreadsText(w io.Writer, v threadsView) {
	fmt.Fprintf(w, "pyhost request threads at %s\n", v.Time.Format(time.RFC3339))
	for _, p := range v.Processes {
		fmt.Fprintf(w, "\nprocess %d, process group %s", p.PID, p.ProcessGroup)
		if p.Slot >= 0 {
			fmt.Fprintf(w, ", worker slot %d", p.Slot)
		}
		if p.State != "" {
			fmt.Fprintf(w, " (%s)", p.State)
		}
		if p.Error != "" {
			fmt.Fprintf(w, ": no answer: %s\n", p.Error)
			continue
		}
		fmt.Fprintf(w, ": %d of %d request threads busy\n", p.Busy, p.Threads)
		for _, rt := range p.Requests {
			fmt.Fprintf(w, "  thread %d: %s %s  request %s  running %s  application group %s, interpreter %d\n",
				rt.Thread, rt.Method, rt.Path, rt.RequestID,
				time.Duration(rt.RunningSeconds*float64(time.Second)).Round(time.Millisecond),
				rt.ApplicationGroup, rt.Interpreter)
			if rt.Stack != "" {
				for _, line := range strings.Split(strings.TrimRight(rt.Stack, "\n"), "\n") {
					fmt.Fprintf(w, "    %s\n", line)
				}
			}
			if rt.StackError != "" {
				fmt.Fprintf(w, "    stack %s\n", rt.StackError)
			}
		}
	}
}

// threadsHandler answers /debug/threads for the whole server: it asks every live
// worker (in JSON, whatever the client asked) and labels each answer with the worker's pid,
// group, slot and state as the supervisor knows them.
func (s *supervisor) threadsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseThreadsQuery(r)
		if err != nil {
			http.Error(w, "/debug/threads: "+err.Error(), http.StatusBadRequest)
			return
		}
		path := "/debug/threads?format=json&wait=" + q.wait.String()
		if q.stacks {
			path += "&stacks=1"
		}
		// The workers bound their own wait for a GIL; this bounds a worker that does not
		// answer at all (stopped, or its control server stuck).
		ctx, cancel := context.WithTimeout(r.Context(), q.wait+5*time.Second)
		defer cancel()
		view := threadsView{Time: time.Now(), Processes: []processThreads{}}
		states := s.directory.snapshot()
		for _, reply := range s.queryWorkers(ctx, path) {
			p := processThreads{Requests: []wsgi.RequestThread{}}
			var got threadsView
			switch {
			case reply.Err != nil:
				p.Error = reply.Err.Error()
			case reply.Status != http.StatusOK:
				p.Error = "HTTP " + strconv.Itoa(reply.Status) + ": " + strings.TrimSpace(string(reply.Body))
			case json.Unmarshal(reply.Body, &got) != nil || len(got.Processes) != 1:
				p.Error = "its answer was not the expected JSON"
			default:
				p = got.Processes[0]
			}
			p.PID, p.ProcessGroup, p.Slot = reply.PID, reply.Group, reply.Slot
			if cw, ok := states[reply.w]; ok {
				p.State = cw.state.String()
			}
			view.Processes = append(view.Processes, p)
		}
		sortProcesses(view.Processes)
		writeThreads(w, q, view)
	})
}
