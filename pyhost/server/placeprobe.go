package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/subinterp"
)

// Why a probe process: telling whether a module can run in a sub-interpreter means running
// its init function there. A single-phase module's init runs before CPython refuses it (and
// before 3.12 nothing refuses it at all), and its one copy of C state then belongs to an
// interpreter that is ended again: NumPy 1.x, once imported in a sub-interpreter, crashes or
// refuses ("cannot load module more than once per process", Cython's "Interpreter change
// detected") in every other interpreter of the process. So each placement but the last is
// tried in a fresh process of this binary, and the server imports the app only where the
// probe succeeded.

// PlaceProbeCommand is the hidden command word that makes this binary a placement probe.
const PlaceProbeCommand = "__place-probe"

type probeRequest struct {
	GIL        gil.Mode            `json:"gil"`
	Placement  subinterp.Placement `json:"placement"`
	PythonHome string              `json:"python_home"`
	Spec       cgo.AppSpec         `json:"spec"`
}

// probeResult is a probe's answer: ok, a refusal (Module set), or another import failure.
type probeResult struct {
	OK     bool   `json:"ok"`
	Module string `json:"module,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// MainOnly: Module loads in one interpreter per process, so the app goes to the main
	// interpreter whatever the placement (oneinterp.go).
	MainOnly bool `json:"main_only,omitempty"`
}

// probe imports spec at placement p in a fresh process and says how it went. A probe that
// crashed is a refusal too (the import crashed it in that placement), with what it printed.
func (s *Server) probe(p subinterp.Placement, spec cgo.AppSpec) probeResult {
	req, _ := json.Marshal(probeRequest{GIL: s.cfg.GIL, Placement: p, PythonHome: s.cfg.PythonHome, Spec: spec})
	exe, err := os.Executable()
	if err != nil {
		return probeResult{Error: "finding this binary for the placement probe: " + err.Error()}
	}
	cmd := exec.Command(exe, PlaceProbeCommand, string(req))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	res, found := lastProbeResult(out)
	if err == nil && !found {
		err = errors.New("the probe gave no answer")
	}
	// A probe that answered and then ended during its second loads (oneinterp.go) answered:
	// that the module crashes when loaded again says nothing about the placement.
	if err != nil && !(found && res.OK) {
		tail := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(tail, "Fatal Python error"); i >= 0 {
			tail = tail[i:]
		}
		if len(tail) > 600 {
			tail = tail[:600] + "…"
		}
		return probeResult{Module: "?", Reason: fmt.Sprintf("importing the app there ended "+
			"the probe process (%v): %s", err, tail)}
	}
	return res
}

// PlaceProbe is the probe process: it imports the app its one argument describes at the
// placement it names and writes a probeResult as JSON on w. The process then exits without
// finalising Python (what the import left behind is of no further use).
func PlaceProbe(args []string, w io.Writer) int {
	var req probeRequest
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &req) != nil {
		fmt.Fprintln(os.Stderr, "pyhost: "+PlaceProbeCommand+" is run by pyhost serve itself")
		return 2
	}
	exe, _ := os.Executable()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rt, err := cgo.Initialize(cgo.Config{ProgramName: exe, PythonHome: req.PythonHome,
		EnableGIL: req.GIL.EnableGIL(), Log: log})
	var res probeResult
	var app *subinterp.App
	if err == nil {
		reg := subinterp.NewRegistry(rt, req.GIL, 1, true)
		app, err = reg.Place("placement probe", req.Placement, req.Spec)
	}
	var refusal *subinterp.Refusal
	var pyErr *cgo.PythonError
	switch {
	case err == nil:
		res.OK = true
		writeProbeResult(w, res) // the answer, should the second loads end the process
		res = loadAgainInMain(rt, app, req.Placement)
	case errors.As(err, &refusal):
		res.Module, res.Reason, res.MainOnly = refusal.Module, refusal.Reason, refusal.MainOnly
	case errors.As(err, &pyErr):
		res.Error = pyErr.Summary()
	default:
		res.Error = err.Error()
	}
	writeProbeResult(w, res)
	return 0
}

func writeProbeResult(w io.Writer, res probeResult) {
	b, _ := json.Marshal(res)
	fmt.Fprintf(w, "%s\n", b)
}

// lastProbeResult is the last answer in the probe's output.
func lastProbeResult(out []byte) (probeResult, bool) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var res probeResult
		if json.Unmarshal([]byte(lines[i]), &res) == nil {
			return res, true
		}
	}
	return probeResult{}, false
}
