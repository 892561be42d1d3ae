// Package subinterp maps application groups to interpreters: %{GLOBAL} is the main
// interpreter, every other group a sub-interpreter (or a pool of them) created once and kept
// for the life of the process.
package subinterp

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// Global is the application group that runs in the main interpreter.
const Global = "%{GLOBAL}"

// Member is one interpreter of a group, with the number of requests it is serving now.
type Member struct {
	in    *cgo.Interp
	index int
	busy  atomic.Int32
	gate  *gil.Gate // in front of this interpreter's GIL; nil without a GIL (free-threaded)
}

// Gate is the gate in front of the member's GIL (shared by every member on the main GIL), or
// nil when requests run without a GIL.
func (m *Member) Gate() *gil.Gate { return m.gate }

// Interp is the member's interpreter.
func (m *Member) Interp() *cgo.Interp { return m.in }

// Index is the member's position in its group (apps are indexed per member).
func (m *Member) Index() int { return m.index }

// Release ends a request on the member.
func (m *Member) Release() { m.busy.Add(-1) }

// Group is an application group: one interpreter, or a pool of K that each load the group's
// apps, of which a request takes the least busy.
type Group struct {
	Name    string
	members []*Member
	rr      atomic.Uint32 // where the least-busy scan starts, so ties rotate

	mu   sync.Mutex
	apps map[string]*App // by target, so mounts of the same app share one import
	// partial holds apps some members imported before another member's import failed.
	partial map[string]*App
}

// Size is the number of interpreters in the group.
func (g *Group) Size() int { return len(g.members) }

// Interps lists the group's interpreters.
func (g *Group) Interps() []*cgo.Interp {
	out := make([]*cgo.Interp, len(g.members))
	for i, m := range g.members {
		out[i] = m.in
	}
	return out
}

// Acquire picks the least busy interpreter and counts the request on it.
func (g *Group) Acquire() *Member {
	n := len(g.members)
	if n == 1 {
		m := g.members[0]
		m.busy.Add(1)
		return m
	}
	start := int(g.rr.Add(1)) % n
	best := g.members[start]
	bestBusy := best.busy.Load()
	for i := 1; i < n && bestBusy > 0; i++ {
		m := g.members[(start+i)%n]
		if b := m.busy.Load(); b < bestBusy {
			best, bestBusy = m, b
		}
	}
	best.busy.Add(1)
	return best
}

// App is a WSGI application loaded into every interpreter of a group.
type App struct {
	Group *Group
	ids   []int // the app's index in each member's interpreter
}

// ID is the app's index in m's interpreter, for cgo.Interp.Serve.
func (a *App) ID(m *Member) int { return a.ids[m.index] }

func appKey(spec cgo.AppSpec) string {
	return fmt.Sprintf("%s\x00%s\x00%q\x00%s", spec.Target, spec.Callable, spec.PythonPath, spec.Chdir)
}
