package subinterp

import (
	"fmt"
	"sync"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// Registry creates application groups on first use and keeps them.
type Registry struct {
	rt           *cgo.Runtime
	mode         gil.Mode
	poolSize     int // interpreters per sub-interpreter group (--interpreters)
	multithread  bool
	multiprocess bool
	facts        cgo.ProcessFacts

	mu     sync.Mutex
	groups map[string]*Group
	// sharedGate is the gate in front of the main GIL, which every interpreter shares in the
	// shared mode (the main interpreter keeps it in every mode but free).
	sharedGate *gil.Gate
}

// NewRegistry returns a registry creating interpreters of mode, poolSize per sub-interpreter
// group. multithread becomes wsgi.multithread in every interpreter.
func NewRegistry(rt *cgo.Runtime, mode gil.Mode, poolSize int, multithread bool) *Registry {
	return &Registry{rt: rt, mode: mode, poolSize: max(poolSize, 1), multithread: multithread,
		groups: map[string]*Group{}}
}

func (r *Registry) interpMode() cgo.GILMode {
	switch r.mode {
	case gil.Own:
		return cgo.OwnGIL
	case gil.Free:
		return cgo.FreeThreaded
	}
	return cgo.SharedGIL
}

// SetMultiprocess sets wsgi.multiprocess for the interpreters created after it.
func (r *Registry) SetMultiprocess(on bool) { r.multiprocess = on }

// SetProcessFacts sets what the interpreters created after it tell apps about their process
// (the _pyhost module's process_group, maximum_processes, threads_per_process).
func (r *Registry) SetProcessFacts(f cgo.ProcessFacts) { r.facts = f }

// Group returns the named group, creating its interpreter(s) the first time.
func (r *Registry) Group(name string) (*Group, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g, ok := r.groups[name]; ok {
		return g, nil
	}
	g := &Group{Name: name, apps: map[string]*App{}, partial: map[string]*App{}}
	if name == Global {
		g.members = []*Member{{in: r.rt.Main(), gate: r.gateFor(r.rt.Main(), true)}}
	} else {
		for i := 0; i < r.poolSize; i++ {
			in, err := r.rt.NewInterpreter(r.interpMode(), name)
			if err != nil {
				return nil, fmt.Errorf("application group %s: %w", name, err)
			}
			g.members = append(g.members, &Member{in: in, index: i, gate: r.gateFor(in, false)})
		}
	}
	for _, m := range g.members {
		if err := r.rt.PrepareProcess(m.in, r.multithread, r.multiprocess, r.facts); err != nil {
			return nil, err
		}
	}
	r.groups[name] = g
	return g, nil
}

// gateFor returns the gate in front of in's GIL: none in the free-threaded mode, one per
// interpreter in the own mode, and otherwise the one gate of the main GIL. r.mu is held.
func (r *Registry) gateFor(in *cgo.Interp, main bool) *gil.Gate {
	switch {
	case r.mode == gil.Free:
		return nil
	case r.mode == gil.Own && !main:
		return gil.NewGate(in.GILHeld)
	}
	if r.sharedGate == nil {
		r.sharedGate = gil.NewGate(r.rt.Main().GILHeld)
	}
	return r.sharedGate
}

// Load imports spec into every interpreter of the group (once per distinct spec).
func (r *Registry) Load(g *Group, spec cgo.AppSpec) (*App, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := appKey(spec)
	if a, ok := g.apps[key]; ok {
		return a, nil
	}
	// A failed load is tried again later (wsgi/loadretry.go): the members that imported the
	// app already keep it, and the next try carries on from the one that failed.
	a := g.partial[key]
	if a == nil {
		a = &App{Group: g}
	}
	for _, m := range g.members[len(a.ids):] {
		id, err := r.rt.LoadApp(m.in, spec)
		if err != nil {
			if len(a.ids) > 0 {
				g.partial[key] = a
			}
			return nil, err
		}
		a.ids = append(a.ids, id)
	}
	delete(g.partial, key)
	g.apps[key] = a
	return a, nil
}

// Groups is how many application groups exist now.
func (r *Registry) Groups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.groups)
}
