package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/observe"
	"github.com/pyhost/pyhost/subinterp"
)

// Free-threaded builds in --gil free: an extension module that does not declare
// free-threading support switches its interpreter's GIL back on for good, and requests take
// turns again. pyhost notices it when a group's app has loaded and, afterwards, at the end of
// the first request that finds it on (one load per request until then: cgo.WatchGIL), and
// says once per interpreter what did it — in the log, in pyhost_gil_reenabled(_by) and in
// /debug/threads.

// gilWatch is what is known of each loaded application group's GIL.
type gilWatch struct {
	mu     sync.Mutex
	groups map[string]*observe.GILState
}

// watchingGIL: this process runs without the GIL, so an extension can switch it back on.
func (s *Server) watchingGIL() bool { return cgo.IsFreeThreadedBuild() && s.cfg.GIL == gil.Free }

// startGILWatch makes requests look for the GIL until it is found on (--gil free only).
func (s *Server) startGILWatch() {
	if s.watchingGIL() {
		s.gil.groups = map[string]*observe.GILState{}
		cgo.WatchGIL()
	}
}

// gilTurnedOnHook is the wsgi.Handler's GILTurnedOn for the mounts of group (nil when not
// watching).
func (s *Server) gilTurnedOnHook(group string) func(*subinterp.Member, cgo.GILChange, *http.Request, string) {
	if !s.watchingGIL() {
		return nil
	}
	return func(m *subinterp.Member, change cgo.GILChange, r *http.Request, requestID string) {
		where := []any{"path", r.URL.Path, "request_id", requestID}
		if change == cgo.GILOnBefore {
			// On already as the request began: a thread outside any request switched it on.
			where = []any{"noticed_at_end_of", r.URL.Path}
		}
		in := m.Interp()
		go s.gilTurnedOn(group, m.Index(), in, where) // asks the interpreter: not on the hot path
	}
}

// reportGIL looks at a group's interpreters once its app has loaded.
func (s *Server) reportGIL(g *subinterp.Group) {
	if !s.watchingGIL() {
		return
	}
	s.gilState(g.Name)
	s.metrics.GILReport(g.Name, false)
	for i, in := range g.Interps() {
		if in.NoticeGIL() {
			s.gilTurnedOn(g.Name, i, in, []any{"when", "its app loaded"})
		}
	}
}

// gilState is group's entry, made on first use.
func (s *Server) gilState(group string) *observe.GILState {
	s.gil.mu.Lock()
	defer s.gil.mu.Unlock()
	st := s.gil.groups[group]
	if st == nil {
		st = &observe.GILState{ApplicationGroup: group}
		s.gil.groups[group] = st
	}
	return st
}

// gilTurnedOn asks the interpreter what switched its GIL on, and says so: one log record,
// the metrics, the thread view.
func (s *Server) gilTurnedOn(group string, interp int, in *cgo.Interp, where []any) {
	_, by := s.rt.GILReport(in)
	if len(by) == 0 {
		by = []string{"unknown (no extension module's creation was seen switching it on)"}
	}
	st := s.gilState(group)
	s.gil.mu.Lock()
	st.Enabled = true
	for _, mod := range by {
		if !slices.Contains(st.EnabledBy, mod) {
			st.EnabledBy = append(st.EnabledBy, mod)
		}
	}
	labels := slices.Clone(st.EnabledBy)
	s.gil.mu.Unlock()
	s.metrics.GILReport(group, true)
	for i, mod := range labels {
		if i >= observe.GILModulesPerGroup {
			mod = "other"
		}
		s.metrics.GILReenabledBy(group, mod)
	}
	attrs := append([]any{"application_group", group, "interpreter", interp,
		"enabled_by", strings.Join(by, ", ")}, where...)
	s.log.Warn("the GIL is on again: "+gilMeaning(by), append(attrs, "remedy", gilRemedy(by))...)
}

// gilMeaning says what a re-enabled GIL means, for the log and `pyhost check`.
func gilMeaning(by []string) string {
	if slices.Contains(by, "PYTHON_GIL=1") {
		return "PYTHON_GIL=1 in the environment turned it on, so requests take turns on the GIL " +
			"as in a build with one"
	}
	return "an extension module that does not declare free-threading support (Py_mod_gil) was " +
		"imported, so from now on requests take turns on the GIL as in a build with one"
}

// gilRemedy says what to do about it.
func gilRemedy(by []string) string {
	if slices.Contains(by, "PYTHON_GIL=1") {
		return "unset PYTHON_GIL (or use --gil shared to run with the GIL on purpose)"
	}
	return "use a version of the module that declares free-threading support (Py_mod_gil; " +
		"look for a cp313t wheel); or set PYTHON_GIL=0 to keep the GIL off anyway, at your own " +
		"risk (the module was not written for it); or accept it: the app works, one request " +
		"thread at a time in Python"
}

// gilView is the thread view's part: each loaded group's GIL, by name (nil when not watching).
func (s *Server) gilView() []observe.GILState {
	s.gil.mu.Lock()
	defer s.gil.mu.Unlock()
	var out []observe.GILState
	for _, st := range s.gil.groups {
		c := *st
		c.EnabledBy = slices.Clone(st.EnabledBy)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApplicationGroup < out[j].ApplicationGroup })
	return out
}

// printGILCheck is `pyhost check`'s part on a free-threaded build: whether importing the app
// left the GIL on, what switched it on, what that means and what to do.
func printGILCheck(w io.Writer, mode gil.Mode, enabled bool, by []string) {
	if mode == gil.Free && enabled {
		if len(by) == 0 {
			by = []string{"unknown"}
		}
		fmt.Fprintf(w, "GIL re-enabled by: %v\n", by)
		fmt.Fprintf(w, "  what it means: %s\n", gilMeaning(by))
		fmt.Fprintf(w, "  what to do: %s\n", gilRemedy(by))
	}
	fmt.Fprintf(w, "GIL enabled after import: %v\n", enabled)
}
