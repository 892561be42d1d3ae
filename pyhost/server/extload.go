package server

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/subinterp"
)

// What the server says about an app's extension modules at load: a module CPython refuses in
// the app's interpreter is explained once (which module, why, what to do), and modules that
// load in a shared-GIL sub-interpreter with their state shared between interpreters are named
// in a warning once per group. Both follow cgo's verdicts (cgo/extverdict.go), which
// `pyhost check` prints per module.

// extNotes remembers what was said already: refusals by group, app and module; warnings by
// group and module.
type extNotes struct {
	mu   sync.Mutex
	said map[string]bool
}

// first reports whether key is new, and remembers it.
func (n *extNotes) first(key string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.said == nil {
		n.said = map[string]bool{}
	}
	if n.said[key] {
		return false
	}
	n.said[key] = true
	return true
}

// subPlace is where the sub-interpreters of this server's mode run.
func (s *Server) subPlace() cgo.Place { return cgo.PlaceFor(interpMode(s.cfg.GIL), true) }

// refusalAttrs explains a module the group's interpreter refused: the log attributes for the
// load failure's record, and whether this is the first time (for this group, app and module)
// it is explained. Later failures of the same import (the mount's retries) say less.
func (s *Server) refusalAttrs(group string, m config.Mount, module string) ([]any, bool) {
	why, fix := s.refusalWhy(module)
	attrs := []any{"module", module, "why", why, "fix", fix}
	first := s.extNotes.first("refused\x00" + group + "\x00" + m.App + "\x00" + module)
	return attrs, first
}

// refusalWhy says why the module is refused in this server's sub-interpreters: exactly, when
// the main interpreter has the module loaded (its declarations are known there), otherwise by
// what CPython refuses in that place.
func (s *Server) refusalWhy(module string) (why, fix string) {
	place := s.subPlace()
	if mods, err := s.rt.ExtensionModules(s.rt.Main()); err == nil {
		for _, m := range mods {
			if v := m.In(place); m.Name == module && v.Severity == cgo.Refused {
				return m.Declares(place.Python) + ": " + v.Why, v.Fix
			}
		}
	}
	fix = "serve the app in the main interpreter (--application-group %{GLOBAL}), or in a " +
		"process group of its own"
	switch {
	case place.FreeBuild && place.OwnGIL:
		why = "CPython refuses it in a sub-interpreter of a free-threaded build with its own " +
			"GIL: it is single-phase, or does not declare Py_mod_multiple_interpreters " +
			"per_interpreter_gil_supported"
		fix += "; --gil shared takes modules that declare supported"
	case place.FreeBuild:
		why = "CPython refuses it in every sub-interpreter of a free-threaded build: it is " +
			"single-phase, or declares Py_mod_multiple_interpreters not_supported"
	default:
		why = "CPython refuses it in a sub-interpreter with its own GIL: it is single-phase, " +
			"or does not declare Py_mod_multiple_interpreters per_interpreter_gil_supported"
		fix += "; or use --gil shared, where single-phase modules and those declaring " +
			"supported (or nothing) load"
	}
	return why + fmt.Sprintf(" (`pyhost check APP --gil %s` lists what each module declares)",
		s.cfg.GIL), fix
}

// warnSharedExtensions names, once per group, the extension modules the group's interpreter
// loaded that CPython takes there against their nature (single-phase, or declaring
// not_supported, in a shared-GIL sub-interpreter). The GIL a module switched back on is
// reported elsewhere (reportGIL).
func (s *Server) warnSharedExtensions(g *subinterp.Group) {
	if g.Name == subinterp.Global || s.cfg.GIL == gil.Free {
		return
	}
	mods, err := s.rt.ExtensionModules(g.Interps()[0])
	if err != nil {
		return
	}
	place := s.subPlace()
	byWhy := map[string][]string{}
	fixes := map[string]string{}
	for _, m := range mods {
		v := m.In(place)
		if v.Severity != cgo.Warns || !s.extNotes.first("warned\x00"+g.Name+"\x00"+m.Name) {
			continue
		}
		byWhy[v.Why] = append(byWhy[v.Why], m.Name)
		fixes[v.Why] = v.Fix
	}
	whys := make([]string, 0, len(byWhy))
	for why := range byWhy {
		whys = append(whys, why)
	}
	sort.Strings(whys)
	for _, why := range whys {
		s.log.Warn("extension modules loaded in a shared-GIL sub-interpreter that may "+
			"misbehave there", "application_group", g.Name,
			"modules", strings.Join(byWhy[why], ","), "why", why, "fix", fixes[why])
	}
}
