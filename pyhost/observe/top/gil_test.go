package top

import (
	"strings"
	"testing"
	"time"
)

// A scrape of two process groups under --gil free: in web, an extension module switched the
// GIL of %{GLOBAL} back on in both workers, and another group's GIL is on with no module
// named; in api every GIL is still off.
const gilSample = `# TYPE pyhost_requests_total counter
pyhost_requests_total{process_group="web",worker="0",application_group="%{GLOBAL}",method="GET",status="2xx"} 3
pyhost_requests_total{process_group="api",worker="0",application_group="%{GLOBAL}",method="GET",status="2xx"} 3
# TYPE pyhost_gil_reenabled gauge
pyhost_gil_reenabled{process_group="web",worker="0",application_group="%{GLOBAL}"} 1
pyhost_gil_reenabled{process_group="web",worker="1",application_group="%{GLOBAL}"} 1
pyhost_gil_reenabled{process_group="web",worker="1",application_group="shop"} 1
pyhost_gil_reenabled{process_group="api",worker="0",application_group="%{GLOBAL}"} 0
# TYPE pyhost_gil_reenabled_by gauge
pyhost_gil_reenabled_by{process_group="web",worker="0",application_group="%{GLOBAL}",module="_testsinglephase"} 1
pyhost_gil_reenabled_by{process_group="web",worker="1",application_group="%{GLOBAL}",module="_testsinglephase"} 1
pyhost_gil_reenabled_by{process_group="web",worker="1",application_group="%{GLOBAL}",module="numpy._core._multiarray_umath"} 1
`

func TestFrameGILOnAgain(t *testing.T) {
	prev, cur := metrics(t, gilSample), metrics(t, gilSample)
	cur.at = prev.at.Add(time.Second)
	f := buildFrame(prev, cur)
	if len(f.groups) != 2 || f.groups[0].name != "api" || f.groups[1].name != "web" {
		t.Fatalf("groups %+v, want api and web", f.groups)
	}
	if on := f.groups[0].gilOn; len(on) != 0 {
		t.Errorf("api: GIL on again in %+v, want none (its gauge is 0)", on)
	}
	web := f.groups[1].gilOn
	if len(web) != 2 || web[0].appGroup != "%{GLOBAL}" || web[1].appGroup != "shop" ||
		strings.Join(web[0].modules, ",") != "_testsinglephase,numpy._core._multiarray_umath" ||
		len(web[1].modules) != 0 {
		t.Errorf("web: %+v, want %%{GLOBAL} by both modules once each, then shop by none named", web)
	}

	var out strings.Builder
	render(&out, "http://127.0.0.1:9100", f, false)
	want := "\nweb                        0      0.0          -          -             -\n" +
		"  GIL on again: _testsinglephase, numpy._core._multiarray_umath (application group %{GLOBAL})\n" +
		"  GIL on again: module not named (application group shop)\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("frame lacks %q:\n%s", want, out.String())
	}
	if strings.Count(out.String(), "GIL on again") != 2 {
		t.Errorf("want 2 GIL markers, web's only:\n%s", out.String())
	}
}
