package supervisor

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/wsgi/request"
)

// /debug/threads: a process answers for itself (the single-process server on its metrics
// listener, a worker on its control channel); the supervisor asks every worker and puts the
// answers together. The view's types and its JSON and text forms are pyhost/observe's.

// threadsHandler answers /debug/threads for the whole server: it asks every live
// worker (in JSON, whatever the client asked) and labels each answer with the worker's pid,
// group, slot and state as the supervisor knows them.
func (s *supervisor) threadsHandler() http.Handler {
	return observe.ThreadsHandler(func(r *http.Request, q observe.ThreadsQuery) []observe.ProcessThreads {
		path := "/debug/threads?format=json&wait=" + q.Wait.String()
		if q.Stacks {
			path += "&stacks=1"
		}
		// The workers bound their own wait for a GIL; this bounds a worker that does not
		// answer at all (stopped, or its control server stuck).
		ctx, cancel := context.WithTimeout(r.Context(), q.Wait+5*time.Second)
		defer cancel()
		processes := []observe.ProcessThreads{}
		states := s.directory.snapshot()
		for _, reply := range s.queryWorkers(ctx, path) {
			p := observe.ProcessThreads{Requests: []request.BusyThread{}}
			var got observe.ThreadsView
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
			if cw, ok := states[reply.id]; ok {
				p.State = cw.state.String()
			}
			processes = append(processes, p)
		}
		return processes
	})
}
