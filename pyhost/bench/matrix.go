package bench

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// build is one pyhost binary of the run and the Python it embeds (from `BIN version`).
type build struct {
	Path          string `json:"path"`
	Label         string `json:"label"` // "3.13", "3.13t"
	PyhostVersion string `json:"pyhost_version"`
	Python        string `json:"python"` // "3.13.5"
	Minor         int    `json:"-"`
	FreeThreaded  bool   `json:"free_threaded"`
}

var (
	reVersion = regexp.MustCompile(`(?m)^pyhost (\S+)`)
	rePython  = regexp.MustCompile(`(?m)^Python (3\.(\d+)\.\S+)`)
)

func probeBuild(path string) (*build, error) {
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("--pyhost %s: `%s version` failed (%v): %s", path, path, err,
			strings.TrimSpace(string(out)))
	}
	s := string(out)
	m, p := reVersion.FindStringSubmatch(s), rePython.FindStringSubmatch(s)
	if m == nil || p == nil {
		return nil, fmt.Errorf("--pyhost %s: not a pyhost binary (`version` said %q)", path, strings.TrimSpace(s))
	}
	b := &build{Path: path, PyhostVersion: m[1], Python: p[1], FreeThreaded: strings.Contains(s, "free-threaded")}
	b.Minor, _ = strconv.Atoi(p[2])
	b.Label = "3." + p[2]
	if b.FreeThreaded {
		b.Label += "t"
	}
	return b, nil
}

// The modes of the matrix: the three GIL modes, and worker processes (one thread each, the
// GIL build's way to use several cores, as gunicorn's sync workers do).
const (
	modeShared    = "shared"
	modeOwn       = "own"
	modeFree      = "free"
	modeProcesses = "processes"
)

var allModes = []string{modeShared, modeOwn, modeFree, modeProcesses}

// modesOf is what a build runs: own needs ≥ 3.12 with a GIL, free a free-threaded build.
// By default a free-threaded build runs shared (its GIL-on baseline) and free; worker
// processes are measured on the GIL build.
func (b *build) supports(mode string, explicit bool) bool {
	switch mode {
	case modeOwn:
		return b.Minor >= 12 && !b.FreeThreaded
	case modeFree:
		return b.FreeThreaded
	case modeProcesses:
		return explicit || !b.FreeThreaded
	}
	return true
}

// cell is one configuration: a build, a mode and its parallelism (request threads, own-GIL
// interpreters or worker processes).
type cell struct {
	Build    *build
	Mode     string
	Parallel int
}

func (c *cell) name() string { return fmt.Sprintf("%s %s×%d", c.Build.Label, c.Mode, c.Parallel) }

// series is the chart line the cell belongs to.
func (c *cell) series() string { return c.Build.Label + " " + c.Mode }

// serveArgs are the flags of serve for the cell's mode.
func (c *cell) serveArgs() []string {
	p := strconv.Itoa(c.Parallel)
	switch c.Mode {
	case modeOwn:
		return []string{"--gil", "own", "--interpreters", p, "--threads", p}
	case modeFree:
		return []string{"--gil", "free", "--threads", p}
	case modeProcesses:
		return []string{"--gil", "shared", "--processes", p, "--threads", "1"}
	}
	return []string{"--gil", "shared", "--threads", p}
}

// defaultParallelism is 1, 2, 4, ... up to the CPU count, and the CPU count itself.
func defaultParallelism(cpus int) []int {
	var ps []int
	for p := 1; p < cpus; p *= 2 {
		ps = append(ps, p)
	}
	return append(ps, max(cpus, 1))
}

// axes is the parallelism of each mode: --threads for shared and free, --interpreters for
// own, --processes for processes, each defaulting to --parallelism.
type axes struct {
	parallelism, threads, interpreters, processes []int
}

func (a axes) of(mode string) []int {
	var l []int
	switch mode {
	case modeShared, modeFree:
		l = a.threads
	case modeOwn:
		l = a.interpreters
	case modeProcesses:
		l = a.processes
	}
	if len(l) == 0 {
		return a.parallelism
	}
	return l
}

// matrix is every cell, build by build, mode by mode; notes say what was left out and why.
func matrix(builds []*build, modes []string, explicit bool, a axes) (cells []*cell, notes []string) {
	for _, b := range builds {
		for _, m := range modes {
			if !b.supports(m, explicit) {
				if explicit {
					notes = append(notes, fmt.Sprintf("%s (Python %s) has no --gil %s: left out", b.Path, b.Python, m))
				}
				continue
			}
			for _, p := range a.of(m) {
				cells = append(cells, &cell{Build: b, Mode: m, Parallel: p})
			}
		}
	}
	return cells, notes
}

func parseModes(s string) ([]string, error) {
	var ms []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(allModes, m) {
			return nil, fmt.Errorf("--modes: unknown mode %q (shared, own, free, processes)", m)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func parseInts(flag, s string) ([]int, error) {
	var l []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("--%s: %q is not a count from 1 to 1024", flag, f)
		}
		l = append(l, n)
	}
	return l, nil
}
