package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/subinterp"
)

// placements remembers, per mount, where --application-group auto put its app, so that the
// mount's other listeners start where the first one ended (its modules are the same).
type placements struct {
	// mu also keeps auto placements one at a time: a trial interpreter is made and ended
	// on Python's one main thread anyway, and two trials of one group must not meet.
	mu     sync.Mutex
	placed map[string]subinterp.Placement // by mount prefix
}

// loadAuto is load for a mount of --application-group auto: it tries each placement the GIL
// mode allows, most isolated first (subinterp.Placements), in the group name (the mount's
// %{RESOURCE} name; %{GLOBAL} for the main interpreter), first in a probe process
// (placeprobe.go), then here. A refusal by an extension module moves it one step down; any
// other failure fails the load, as in any group. One record says where the app went and why.
func (s *Server) loadAuto(group string, m config.Mount, spec cgo.AppSpec) (*subinterp.App, error) {
	s.auto.mu.Lock()
	defer s.auto.mu.Unlock()
	start := time.Now()
	tries := subinterp.Placements(s.cfg.GIL, s.cfg.Interpreters)
	if p, ok := s.auto.placed[m.Prefix]; ok {
		for len(tries) > 1 && tries[0] != p {
			tries = tries[1:]
		}
	}
	var refused []*subinterp.Refusal
	mainOnly := false // a module loads in one interpreter per process: %{GLOBAL} it is
	for i, p := range tries {
		if mainOnly && p != subinterp.MainInterpreter {
			continue
		}
		if i < len(tries)-1 { // the main interpreter refuses nothing: no probe for it
			if res := s.probe(p, spec); res.Module != "" {
				refused = append(refused, &subinterp.Refusal{Placement: p, Module: res.Module,
					Reason: res.Reason, MainOnly: res.MainOnly})
				mainOnly = res.MainOnly
				continue
			}
			// It imported there, or failed as it will in any interpreter: the load below
			// then fails with the whole traceback, as in any group.
		}
		app, err := s.groups.Place(group, p, spec)
		var r *subinterp.Refusal
		if errors.As(err, &r) {
			refused = append(refused, r)
			mainOnly = r.MainOnly
			continue
		}
		if err != nil {
			return nil, s.autoLoadFailed(group, m, err)
		}
		if s.auto.placed == nil {
			s.auto.placed = map[string]subinterp.Placement{}
		}
		s.auto.placed[m.Prefix] = p
		s.placed(app.Group, m, p, refused, time.Since(start))
		return app, nil
	}
	// Not reached: the main interpreter refuses no module.
	return nil, s.autoLoadFailed(group, m, refused[len(refused)-1])
}

// placed logs, once per load, where an auto mount's app went and why, and notes its group in
// the metrics (the gil_mode label of pyhost_interpreters is the GIL the group runs on).
func (s *Server) placed(g *subinterp.Group, m config.Mount, p subinterp.Placement,
	refused []*subinterp.Refusal, took time.Duration) {
	mode := s.cfg.GIL
	if p == subinterp.SharedInterpreter {
		mode = gil.Shared
	}
	attrs := []any{"app", m.App, "mount", m.Prefix, "application_group", g.Name,
		"interpreters", g.Size(), "gil", string(mode), "placement", p.String(),
		"placed_in", p.Describe(s.cfg.GIL)}
	if len(refused) == 0 {
		attrs = append(attrs, "why", placedWhy(s.cfg.GIL, p))
	} else {
		var mods, why []string
		for _, r := range refused {
			if !slices.Contains(mods, r.Module) {
				mods = append(mods, r.Module)
			}
			why = append(why, r.Error())
		}
		attrs = append(attrs, "module", strings.Join(mods, ","), "why", strings.Join(why, "; "))
	}
	attrs = append(attrs, "took", took.Round(time.Millisecond).String())
	s.log.Info("loaded WSGI application (--application-group auto)", attrs...)
	s.metrics.Loaded(g.Name, g.Size(), mode)
	s.reportGIL(g)
}

// placedWhy says why the first placement tried was the one taken.
func placedWhy(mode gil.Mode, p subinterp.Placement) string {
	switch {
	case p != subinterp.MainInterpreter:
		return "every extension module it imports can run there"
	case mode == gil.Free:
		return "--gil free: its threads run in parallel in the main interpreter (give " +
			"--interpreters K > 1 for a pool of sub-interpreters)"
	}
	return "the main interpreter is the only one --gil " + string(mode) + " allows"
}

// autoLoadFailed logs, as load does for any group, why the app could not load into group,
// with its whole traceback, and returns the error for the handler.
func (s *Server) autoLoadFailed(group string, m config.Mount, err error) error {
	var pyErr *cgo.PythonError
	if errors.As(err, &pyErr) {
		attrs := []any{"app", m.App, "mount", m.Prefix, "application_group", group}
		msg := "could not load the WSGI application"
		if more, what, _, ok := s.explainExtFailure(group, m, pyErr.Traceback); ok {
			attrs, msg = append(attrs, more...), msg+": "+what
		}
		s.log.Error(msg, append(attrs, "traceback", pyErr.Traceback)...)
		return fmt.Errorf("%w: %s", ErrAppLoad, pyErr.Summary())
	}
	s.log.Error("could not load the WSGI application", "app", m.App, "mount", m.Prefix,
		"application_group", group, "error", err)
	return err
}
