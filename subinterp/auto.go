package subinterp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// Placement is where --application-group auto puts an app: the most isolated kind of
// interpreter its extension modules allow.
type Placement int

const (
	// OwnInterpreters: a group of its own of --interpreters sub-interpreters with their own
	// GIL (--gil own), or without one (--gil free).
	OwnInterpreters Placement = iota
	// SharedInterpreter: a group of its own of one sub-interpreter on the main GIL, which
	// refuses extension modules without multi-interpreter support.
	SharedInterpreter
	// MainInterpreter: %{GLOBAL}.
	MainInterpreter
)

// String is the placement's token in logs: isolated, shared-gil or main.
func (p Placement) String() string {
	switch p {
	case OwnInterpreters:
		return "isolated"
	case SharedInterpreter:
		return "shared-gil"
	}
	return "main"
}

// Describe says what the placement is in words, under mode.
func (p Placement) Describe(mode gil.Mode) string {
	switch {
	case p == OwnInterpreters && mode == gil.Free:
		return "free-threaded sub-interpreters"
	case p == OwnInterpreters:
		return "own-GIL sub-interpreters"
	case p == SharedInterpreter:
		return "a shared-GIL sub-interpreter"
	}
	return "the main interpreter (%{GLOBAL})"
}

// Placements lists what auto tries under mode, most isolated first. Under --gil own a process
// mixes own-GIL sub-interpreters with shared-GIL ones beside the main interpreter (CPython
// allows it; each gets the gate of the GIL it runs on). Under --gil free every app runs in the
// main interpreter, where its threads already run in parallel, unless --interpreters asks for
// a pool; a free-threaded build refuses single-phase modules in every sub-interpreter, so
// there is no shared-GIL step. Python 3.11 has no own-GIL interpreters, only shared ones.
func Placements(mode gil.Mode, poolSize int) []Placement {
	switch mode {
	case gil.Own:
		return []Placement{OwnInterpreters, SharedInterpreter, MainInterpreter}
	case gil.Free:
		if poolSize > 1 {
			return []Placement{OwnInterpreters, MainInterpreter}
		}
		return []Placement{MainInterpreter}
	}
	return []Placement{SharedInterpreter, MainInterpreter}
}

// Refusal is an app that cannot run in a placement because of an extension module: CPython
// refused to import it there, or (before 3.12, which does not check) it is a single-phase
// module whose one copy of C state the main interpreter would share.
type Refusal struct {
	Placement Placement
	Module    string
	Reason    string
	// MainOnly: the module loads in one interpreter per process, so no sub-interpreter
	// placement can take the app: it goes straight to the main interpreter.
	MainOnly bool
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s: %s: %s", r.Placement, r.Module, r.Reason)
}

// Place loads spec into the group name at placement p (MainInterpreter: %{GLOBAL}, whatever
// name says). A sub-interpreter placement makes the group's interpreters for this app; when
// an extension module cannot run there, they are ended again and the error is a *Refusal,
// so that the caller can try the next placement. Any other import failure comes back as it
// is (a *cgo.PythonError). A group that exists already (loaded before) is used as it is.
func (r *Registry) Place(name string, p Placement, spec cgo.AppSpec) (*App, error) {
	if p == MainInterpreter {
		g, err := r.Group(Global)
		if err != nil {
			return nil, err
		}
		return r.Load(g, spec)
	}
	r.mu.Lock()
	g, ok := r.groups[name]
	r.mu.Unlock()
	if ok {
		return r.Load(g, spec)
	}
	g, a, err := r.trial(name, p, spec)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.groups[name]; ok {
		return nil, fmt.Errorf("application group %s: created twice at once", name)
	}
	for _, m := range g.members {
		r.rt.Publish(m.in)
	}
	r.groups[name] = g
	return a, nil
}

// trial creates the group's interpreters at p and loads spec into each, ending them all on
// any failure.
func (r *Registry) trial(name string, p Placement, spec cgo.AppSpec) (*Group, *App, error) {
	mode, size := r.interpMode(), r.poolSize
	if p == SharedInterpreter {
		mode, size = cgo.SharedGILChecked, 1
	}
	g := &Group{Name: name, apps: map[string]*App{}, partial: map[string]*App{}}
	a := &App{Group: g}
	fail := func(err error) (*Group, *App, error) {
		for _, m := range g.members {
			r.rt.EndInterpreter(m.in)
		}
		return nil, nil, err
	}
	for i := 0; i < size; i++ {
		in, err := r.rt.NewTrialInterpreter(mode, name)
		if err != nil {
			return fail(fmt.Errorf("application group %s: %w", name, err))
		}
		g.members = append(g.members, &Member{in: in, index: i, gate: r.lockedGateFor(in, p)})
		if err := r.rt.PrepareProcess(in, r.multithread, r.multiprocess, r.facts); err != nil {
			return fail(err)
		}
		id, err := r.rt.LoadApp(in, spec)
		if err != nil {
			// Only an import that ended in the refusal: an app that handled one and failed
			// on something else fails as it is.
			var pyErr *cgo.PythonError
			if errors.As(err, &pyErr) {
				if mod, ok := UnsupportedModule(pyErr.Summary()); ok {
					return fail(&Refusal{Placement: p, Module: mod, Reason: refusedWhy(p)})
				}
				if mod, _, ok := OneInterpreterModule(pyErr.Summary()); ok {
					return fail(OneInterpreterRefusal(p, mod))
				}
			}
			return fail(err)
		}
		a.ids = append(a.ids, id)
		if p == SharedInterpreter {
			mods, err := r.rt.SinglePhaseModules(in)
			if err != nil {
				return fail(err)
			}
			if len(mods) > 0 {
				return fail(&Refusal{Placement: p, Module: strings.Join(mods, ","),
					Reason: "single-phase init: one copy of its C state is shared with the " +
						"main interpreter, which is known to break"})
			}
		}
	}
	g.apps[appKey(spec)] = a
	return g, a, nil
}

func refusedWhy(p Placement) string {
	switch {
	case p == SharedInterpreter:
		return "CPython refused it in a sub-interpreter (single-phase init, or " +
			"Py_mod_multiple_interpreters not_supported)"
	case cgo.IsFreeThreadedBuild():
		return "a free-threaded build refuses it in every sub-interpreter (single-phase " +
			"init, or Py_mod_multiple_interpreters not_supported)"
	}
	return "CPython refused it in an own-GIL sub-interpreter (single-phase init, or " +
		"Py_mod_multiple_interpreters without per_interpreter_gil_supported)"
}

// lockedGateFor is gateFor for a placement: a shared-GIL sub-interpreter waits at the main
// GIL's gate whatever the mode.
func (r *Registry) lockedGateFor(in *cgo.Interp, p Placement) *gil.Gate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gateFor(in, p == SharedInterpreter)
}
