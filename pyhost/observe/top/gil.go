package top

import (
	"sort"

	dto "github.com/prometheus/client_model/go"
)

// A GIL switched back on under --gil free: the server's pyhost_gil_reenabled and
// pyhost_gil_reenabled_by (pyhost/observe's metrics), read per process group.

const (
	metricGILReenabled   = "pyhost_gil_reenabled"
	metricGILReenabledBy = "pyhost_gil_reenabled_by"
	labelAppGroup        = "application_group"
	labelModule          = "module"
)

// gilOnAgain is an application group whose GIL an extension module (or PYTHON_GIL=1)
// switched back on in some worker of a process group, and what did: modules sorted, "other"
// past the server's 8 a group; none when the metrics name none.
type gilOnAgain struct {
	appGroup string
	modules  []string
}

// gilOnAgainIn lists, by application group, the GILs on again in the series match picks.
func gilOnAgainIn(cur *sample, match func(*dto.Metric) bool) []gilOnAgain {
	by := map[string]map[string]bool{}
	for _, m := range metricsOf(cur.families[metricGILReenabled]) {
		if match(m) && gaugeValue(m) == 1 {
			if g := labelValue(m, labelAppGroup); by[g] == nil {
				by[g] = map[string]bool{}
			}
		}
	}
	for _, m := range metricsOf(cur.families[metricGILReenabledBy]) {
		if match(m) && gaugeValue(m) == 1 {
			g := labelValue(m, labelAppGroup)
			if by[g] == nil {
				by[g] = map[string]bool{}
			}
			by[g][labelValue(m, labelModule)] = true
		}
	}
	var out []gilOnAgain
	for g, mods := range by {
		on := gilOnAgain{appGroup: g}
		for mod := range mods {
			on.modules = append(on.modules, mod)
		}
		sort.Strings(on.modules)
		out = append(out, on)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].appGroup < out[j].appGroup })
	return out
}

// gaugeValue is a gauge's or untyped series' value (a text sample without TYPE is untyped).
func gaugeValue(m *dto.Metric) float64 {
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.GetUntyped().GetValue()
}
