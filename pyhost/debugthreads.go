package pyhost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

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
	p := processThreads{PID: os.Getpid(), ProcessGroup: processGroupLabel(s.cfg.ProcessGroup),
		Slot: -1, Threads: s.threads.Threads(), Busy: s.threads.Busy(),
		Requests: []wsgi.RequestThread{}}
	if s.table != nil {
		if rs := s.table.Busy(q.stacks, q.wait); rs != nil {
			p.Requests = rs
		}
	}
	return p
}

// processGroupLabel names a process's group in the view: "" (no process groups) is "default".
func processGroupLabel(g string) string {
	if g == "" {
		return "default"
	}
	return g
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
