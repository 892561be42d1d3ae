package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/pyhost/pyhost/gil"
)

func TestParseMount(t *testing.T) {
	good := map[string]Mount{
		"/api=api.py":                {Prefix: "/api", App: "api.py"},
		"/api/=pkg.mod:app,group=g1": {Prefix: "/api", App: "pkg.mod:app", AppGroup: "g1"},
		"/=site.py,group=%{GLOBAL}":  {Prefix: "/", App: "site.py", AppGroup: "%{GLOBAL}"},
		"/a=dir,with,commas/app.py":  {Prefix: "/a", App: "dir,with,commas/app.py"},
		"/b=x.py,group=%{RESOURCE}":  {Prefix: "/b", App: "x.py", AppGroup: "%{RESOURCE}"},
	}
	for in, want := range good {
		if got, err := parseMount(in); err != nil || got != want {
			t.Errorf("parseMount(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"api=api.py", "/api", "/api=", "/a=x.py,group="} {
		if _, err := parseMount(bad); err == nil {
			t.Errorf("parseMount(%q) accepted", bad)
		}
	}
}

func TestValidateAppGroups(t *testing.T) {
	py313 := gil.Build{VersionHex: 0x030D05F0, Version: "3.13.5"}
	c := Config{App: "a.py", Threads: 2, Interpreters: 1, GIL: gil.Own}
	if err := c.Validate(py313); err != nil || c.AppGroup != AppGroupResource {
		t.Errorf("own defaults to %%{RESOURCE}: %q %v", c.AppGroup, err)
	}
	c = Config{App: "a.py", Threads: 2, Interpreters: 1}
	if err := c.Validate(py313); err != nil || c.AppGroup != AppGroupGlobal || c.GIL != gil.Shared {
		t.Errorf("defaults: %q %q %v", c.AppGroup, c.GIL, err)
	}
	c = Config{App: "a.py", Threads: 2, Interpreters: 2, GIL: gil.Own, AppGroup: AppGroupGlobal}
	if err := c.Validate(py313); err == nil || !strings.Contains(err.Error(), "needs sub-interpreters") {
		t.Errorf("pool in %%{GLOBAL}: %v", err)
	}
	c = Config{App: "a.py", Threads: 2, Interpreters: 1, Mounts: []Mount{{Prefix: "/", App: "b.py"}}}
	if err := c.Validate(py313); err == nil || !strings.Contains(err.Error(), "two apps mounted at /") {
		t.Errorf("duplicate mount: %v", err)
	}
}

func TestAppGroupName(t *testing.T) {
	cases := [][4]string{
		{AppGroupGlobal, "127.0.0.1:80", "/x", AppGroupGlobal},
		{AppGroupServer, "127.0.0.1:80", "/x", "127.0.0.1:80"},
		{AppGroupResource, "127.0.0.1:80", "/x", "127.0.0.1:80|/x"},
		{AppGroupResource, "127.0.0.1:80", "", "127.0.0.1:80|"},
		{"mine", "127.0.0.1:80", "/x", "mine"},
	}
	for _, c := range cases {
		if got := AppGroupName(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("GroupName(%q, %q, %q) = %q, want %q", c[0], c[1], c[2], got, c[3])
		}
	}
}

// ApplyDefaults fills in; Check only refuses, and reads the defaults it is given.
func TestDefaultsThenCheck(t *testing.T) {
	c := Config{App: "a.py", Threads: 2, Interpreters: 1, GIL: gil.Own}
	before := c
	if err := c.Check(py311); err == nil || !strings.Contains(err.Error(), "--gil own needs Python ≥ 3.12") {
		t.Errorf("Check with --gil own on 3.11: %v", err)
	}
	if c.AppGroup != "" || len(c.Listen) != 0 || c.GIL != before.GIL {
		t.Errorf("Check changed the configuration: %+v", c)
	}
	c.ApplyDefaults()
	if c.AppGroup != AppGroupResource || !slices.Equal(c.Listen, []string{DefaultListen}) {
		t.Errorf("ApplyDefaults: application group %q, listen %q", c.AppGroup, c.Listen)
	}
	c = Config{App: "a.py", Threads: 2, Interpreters: 1, AppGroup: "mine", Listen: []string{"127.0.0.1:1"}}
	c.ApplyDefaults()
	if c.GIL != gil.Shared || c.AppGroup != "mine" || !slices.Equal(c.Listen, []string{"127.0.0.1:1"}) {
		t.Errorf("ApplyDefaults keeps what is set: %+v", c)
	}
	if err := c.Check(py311); err != nil {
		t.Errorf("Check after ApplyDefaults: %v", err)
	}
}
