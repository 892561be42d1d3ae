package observe

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// /debug/threads: what every request thread of every worker is doing now, and with
// ?stacks=1 the Python stack of each — the first thing to look at when a server hangs. A
// process answers for itself (the single-process server on its metrics listener, a worker on
// its control channel); the supervisor asks every worker and puts the answers together.

// ThreadsView is the answer: every process, with its busy request threads.
type ThreadsView struct {
	Time      time.Time        `json:"time"`
	Processes []ProcessThreads `json:"processes"`
}

// ProcessThreads is one process's request threads. Requests lists the busy ones, the
// longest-running first.
type ProcessThreads struct {
	PID          int                  `json:"pid"`
	ProcessGroup string               `json:"process_group"`
	Slot         int                  `json:"worker"` // the metrics' worker label: its slot in its group; -1: no supervisor
	State        string               `json:"state,omitempty"`
	Threads      int                  `json:"threads"`
	Busy         int                  `json:"busy"`
	Requests     []request.BusyThread `json:"requests"`
	// GIL, on a free-threaded build in --gil free, is each loaded application group's GIL.
	GIL []GILState `json:"gil,omitempty"`
	// Error says why a worker's threads are missing (it did not answer in time).
	Error string `json:"error,omitempty"`
}

// SortProcesses orders processes by process group, then slot.
func SortProcesses(ps []ProcessThreads) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].ProcessGroup != ps[j].ProcessGroup {
			return ps[i].ProcessGroup < ps[j].ProcessGroup
		}
		return ps[i].Slot < ps[j].Slot
	})
}

// defaultStackWait bounds how long a stack request waits for an interpreter's GIL.
const defaultStackWait = time.Second

// ThreadsQuery is what a /debug/threads request asks for.
type ThreadsQuery struct {
	Stacks bool          // the Python stack of each busy thread
	Wait   time.Duration // at most this long for each interpreter's GIL, with Stacks
	Text   bool          // the plain-text form, not JSON
}

// ParseThreadsQuery reads ?stacks=, ?wait= and ?format= (or, without format, the Accept
// header).
func ParseThreadsQuery(r *http.Request) (ThreadsQuery, error) {
	q := ThreadsQuery{Wait: defaultStackWait}
	v := r.URL.Query()
	switch s := v.Get("stacks"); s {
	case "", "0", "false":
	case "1", "true":
		q.Stacks = true
	default:
		return q, fmt.Errorf("stacks=%q: want 1 or 0", s)
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Minute {
			return q, fmt.Errorf("wait=%q: want a duration such as 500ms, at most 1m", s)
		}
		q.Wait = d
	}
	switch f := v.Get("format"); f {
	case "text":
		q.Text = true
	case "json":
	case "":
		accept := r.Header.Get("Accept")
		q.Text = strings.Contains(accept, "text/plain") && !strings.Contains(accept, "json")
	default:
		return q, fmt.Errorf("format=%q: want json or text", f)
	}
	return q, nil
}

// WriteThreads answers with v in the form q asks for.
func WriteThreads(w http.ResponseWriter, q ThreadsQuery, v ThreadsView) {
	w.Header().Set("Cache-Control", "no-store")
	if q.Text {
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
func writeThreadsText(w io.Writer, v ThreadsView) {
	fmt.Fprintf(w, "pyhost request threads at %s\n", v.Time.Format(time.RFC3339))
	for _, p := range v.Processes {
		fmt.Fprintf(w, "\nprocess %d, process group %s", p.PID, p.ProcessGroup)
		if p.Slot >= 0 {
			fmt.Fprintf(w, ", worker %d", p.Slot)
		}
		if p.State != "" {
			fmt.Fprintf(w, " (%s)", p.State)
		}
		if p.Error != "" {
			fmt.Fprintf(w, ": no answer: %s\n", p.Error)
			continue
		}
		fmt.Fprintf(w, ": %d of %d request threads busy\n", p.Busy, p.Threads)
		writeGILText(w, p.GIL)
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

// ThreadsHandler answers /debug/threads: it reads the query (400 when it is wrong) and writes
// the processes that gather returns for it, in the form the client asked.
func ThreadsHandler(gather func(r *http.Request, q ThreadsQuery) []ProcessThreads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := ParseThreadsQuery(r)
		if err != nil {
			http.Error(w, "/debug/threads: "+err.Error(), http.StatusBadRequest)
			return
		}
		ps := gather(r, q)
		SortProcesses(ps)
		WriteThreads(w, q, ThreadsView{Time: time.Now(), Processes: ps})
	})
}
