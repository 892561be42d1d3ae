package server

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// CheckResult is `pyhost check`'s report (printed, or as JSON with --json).
type CheckResult struct {
	App     string          `json:"app"`
	GIL     gil.Mode        `json:"gil"`
	Where   string          `json:"imported_in"`
	Python  string          `json:"python"`
	OK      bool            `json:"ok"` // the app imported there
	Error   string          `json:"error,omitempty"`
	Refused string          `json:"refused_module,omitempty"` // the module the interpreter refused
	Failed  string          `json:"failed_module,omitempty"`  // an ImportError's module
	Modules []CheckedModule `json:"modules"`
	// Free-threaded builds only: whether the GIL was on after the import, and which modules
	// switched it on.
	GILEnabled   *bool    `json:"gil_enabled,omitempty"`
	GILEnabledBy []string `json:"gil_enabled_by,omitempty"`
	// Elsewhere: for each place this build can run an app, the worst verdict of the app's
	// extension modules there.
	Elsewhere []PlaceSeverity `json:"elsewhere"`
}

// CheckedModule is one extension module the app needs, with its verdict in the checked place.
type CheckedModule struct {
	cgo.ExtModule
	Declares string `json:"declares"`
	// Seen: "loaded" (imported in the checked interpreter), "refused" (the interpreter refused
	// it) or "not reached" (the import stopped before it; known from the main interpreter).
	Seen string `json:"seen"`
	// OneInterpreter: loaded again in a second interpreter, it refused (oneinterp.go).
	OneInterpreter bool `json:"one_interpreter_per_process,omitempty"`
	cgo.Verdict
	Elsewhere []PlaceSeverity `json:"elsewhere"`
}

// PlaceSeverity is a verdict in one place.
type PlaceSeverity struct {
	Place   string       `json:"place"`
	Verdict cgo.Severity `json:"verdict"`
}

type namedPlace struct {
	name  string
	place cgo.Place
}

// buildPlaces are the places this build can run an app in.
func buildPlaces() []namedPlace {
	if cgo.IsFreeThreadedBuild() {
		return []namedPlace{
			{"%{GLOBAL} --gil free", cgo.PlaceFor(cgo.FreeThreaded, false)},
			{"sub-interpreter --gil free", cgo.PlaceFor(cgo.FreeThreaded, true)},
			{"%{GLOBAL} --gil shared", cgo.PlaceFor(cgo.SharedGIL, false)},
			{"sub-interpreter --gil shared", cgo.PlaceFor(cgo.SharedGIL, true)},
		}
	}
	ps := []namedPlace{{"%{GLOBAL}", cgo.PlaceFor(cgo.SharedGIL, false)},
		{"sub-interpreter --gil shared", cgo.PlaceFor(cgo.SharedGIL, true)}}
	if cgo.VersionHex() >= 0x030C0000 {
		ps = append(ps, namedPlace{"sub-interpreter --gil own", cgo.PlaceFor(cgo.OwnGIL, true)})
	}
	return ps
}

func whereName(mode gil.Mode, global bool) string {
	switch {
	case mode == gil.Free:
		return "the main interpreter (%{GLOBAL}) of a free-threaded build"
	case global:
		return "the main interpreter (%{GLOBAL})"
	case mode == gil.Own:
		return "an own-GIL sub-interpreter (PEP 684)"
	}
	return "a shared-GIL sub-interpreter"
}

// judge turns the target interpreter's report (and the main interpreter's inventory, when the
// target stopped early) into the verdicts.
func judge(opts CheckOptions, place cgo.Place, target, inventory *checkReport) *CheckResult {
	res := &CheckResult{App: opts.App, GIL: opts.GIL, Python: LinkedBuild().Version,
		Where: whereName(opts.GIL, opts.Global || opts.GIL == gil.Free), OK: target.OK,
		Error: target.Error, Refused: target.refusedModule(), Failed: target.FailedModule}
	if cgo.IsFreeThreadedBuild() {
		res.GILEnabled, res.GILEnabledBy = &target.GILEnabled, target.GILEnabledBy
		if place.GILOff && !target.GILEnabled {
			place.GILOff = false // nothing switched it on: no module gets the warning
		}
	}
	seen := map[string]bool{}
	add := func(m cgo.ExtModule, how string) {
		if seen[m.Name] {
			return
		}
		seen[m.Name] = true
		if m.Name == res.Refused {
			how = "refused"
		}
		res.Modules = append(res.Modules, checked(m, how, place, target.Error))
	}
	for _, m := range target.Extensions {
		add(m, "loaded")
	}
	if inventory != nil {
		for _, m := range inventory.Extensions {
			add(m, "not reached")
		}
	}
	if res.Refused != "" && !seen[res.Refused] {
		add(cgo.ExtModule{Name: res.Refused, Init: "unknown"}, "refused")
	}
	if target.OK || res.Refused != "" {
		res.Elsewhere = worstPerPlace(res.Modules)
	}
	return res
}

func checked(m cgo.ExtModule, how string, place cgo.Place, importErr string) CheckedModule {
	c := CheckedModule{ExtModule: m, Declares: m.Declares(place.Python), Seen: how,
		Verdict: m.In(place)}
	if m.Init == "unknown" {
		c.Declares = "not known: it was refused here and the main interpreter did not import it"
	}
	if how == "refused" && c.Severity != cgo.Refused {
		c.Verdict = cgo.Verdict{Severity: cgo.Refused, Why: "CPython refused it here: " + importErr,
			Fix: "run the app in a main interpreter: --application-group %{GLOBAL}, in this " +
				"process group or in one of its own"}
	}
	for _, np := range buildPlaces() {
		c.Elsewhere = append(c.Elsewhere, PlaceSeverity{np.name, m.In(np.place).Severity})
	}
	return c
}

func worstPerPlace(mods []CheckedModule) []PlaceSeverity {
	rank := map[cgo.Severity]int{cgo.Runs: 0, cgo.Warns: 1, cgo.Refused: 2}
	var out []PlaceSeverity
	for i, np := range buildPlaces() {
		worst := cgo.Runs
		for _, m := range mods {
			if s := m.Elsewhere[i].Verdict; rank[s] > rank[worst] {
				worst = s
			}
		}
		out = append(out, PlaceSeverity{np.name, worst})
	}
	return out
}

var severityLabel = map[cgo.Severity]string{cgo.Runs: "ok", cgo.Warns: "WARNING",
	cgo.Refused: "REFUSED"}

func printCheck(w io.Writer, r *CheckResult) {
	fmt.Fprintf(w, "pyhost check %s --gil %s: imported in %s, Python %s\n", r.App, r.GIL,
		r.Where, r.Python)
	var warned []string
	explained := map[string]string{} // why+fix -> the first module printed with it
	for _, m := range r.Modules {
		label := severityLabel[m.Severity]
		if m.Seen == "not reached" {
			label += "?"
		}
		fmt.Fprintf(w, "  %-8s %s: %s\n", label, m.Name, m.Declares)
		if m.File != "" {
			fmt.Fprintf(w, "           %s\n", m.File)
		}
		if m.Seen == "not reached" {
			fmt.Fprintf(w, "           not reached here (the import stopped first): listed from "+
				"an import in the main interpreter; the verdict follows from what it declares\n")
		}
		if m.Why != "" {
			if first, ok := explained[m.Why+m.Fix]; ok {
				fmt.Fprintf(w, "           why and fix: as for %s above\n", first)
			} else {
				explained[m.Why+m.Fix] = m.Name
				fmt.Fprintf(w, "           why: %s\n           fix: %s\n", m.Why, m.Fix)
			}
		}
		if m.Severity == cgo.Warns && m.Seen == "loaded" {
			warned = append(warned, m.Name)
		}
	}
	if !r.OK && r.Refused == "" {
		fmt.Fprintf(w, "  FAILS  %-30s %s\n", failedName(r), r.Error)
	}
	if len(r.Elsewhere) > 0 {
		var parts []string
		for _, p := range r.Elsewhere {
			parts = append(parts, p.Place+": "+map[cgo.Severity]string{cgo.Runs: "runs",
				cgo.Warns: "runs, with warnings", cgo.Refused: "refused"}[p.Verdict])
		}
		fmt.Fprintf(w, "where these extension modules run: %s\n", strings.Join(parts, "; "))
	}
	if r.GILEnabled != nil {
		printGILCheck(w, r.GIL, *r.GILEnabled, r.GILEnabledBy)
	}
	switch {
	case r.OK && len(warned) > 0:
		fmt.Fprintf(w, "warning: %s load here but may misbehave (see why above)\n",
			strings.Join(warned, ", "))
		fmt.Fprintf(w, "result: the app can run with --gil %s, with the warnings above\n", r.GIL)
	case r.OK:
		fmt.Fprintf(w, "result: the app can run with --gil %s\n", r.GIL)
	case r.Refused != "":
		fmt.Fprintf(w, "result: the app cannot run in %s: CPython refuses extension module %s "+
			"there (see why and fix above)\n", r.Where, r.Refused)
	default:
		fmt.Fprintf(w, "result: the app failed to import: %s\n", r.Error)
	}
}

func failedName(r *CheckResult) string {
	if r.Failed != "" {
		return r.Failed
	}
	return "(import)"
}
