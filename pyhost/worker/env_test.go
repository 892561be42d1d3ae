package worker

import (
	"reflect"
	"strings"
	"testing"
)

// What a supervisor writes into a worker's environment reads back the same.
func TestEnvRoundTrip(t *testing.T) {
	for _, want := range []Env{
		{Slot: 0, Listeners: 1},
		{Slot: 3, Listeners: 2, Lifeline: 6, Control: 7},
		{Slot: 5, Group: "api", FrontAddrs: []string{"127.0.0.1:8000", "[::1]:8000"}, Listeners: 1,
			Lifeline: 5, Control: 6},
	} {
		environ := append([]string{"PATH=/usr/bin", "HOME=/root"}, want.Environ()...)
		got, isWorker, err := ParseEnv(environ)
		if err != nil || !isWorker {
			t.Errorf("ParseEnv(%q) = %v, %v", environ, isWorker, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v reads back as %+v (from %q)", want, got, environ)
		}
	}
}

func TestParseEnv(t *testing.T) {
	if e, isWorker, err := ParseEnv([]string{"PATH=/bin", "PYHOST_WORKER="}); isWorker ||
		err != nil || !reflect.DeepEqual(e, Env{}) {
		t.Errorf("no slot: %+v, %v, %v; want not a worker", e, isWorker, err)
	}
	// The last entry wins, as in exec.Cmd.Env: a supervisor's own environment comes first.
	e, _, err := ParseEnv([]string{"PYHOST_WORKER=1", "PYHOST_WORKER_LISTENERS=9",
		"PYHOST_WORKER=2", "PYHOST_WORKER_LISTENERS=1"})
	if err != nil || e.Slot != 2 || e.Listeners != 1 {
		t.Errorf("later entries: %+v, %v", e, err)
	}
	for _, c := range []struct {
		environ []string
		want    string
	}{
		{[]string{"PYHOST_WORKER=1"}, "not by hand"},
		{[]string{"PYHOST_WORKER=one", "PYHOST_WORKER_LISTENERS=1"}, "want a slot number"},
		{[]string{"PYHOST_WORKER=1", "PYHOST_WORKER_LISTENERS=0"}, "PYHOST_WORKER_LISTENERS"},
		{[]string{"PYHOST_WORKER=1", "PYHOST_WORKER_LISTENERS=1", "PYHOST_WORKER_CONTROL=2"},
			"PYHOST_WORKER_CONTROL=\"2\", want a file descriptor number"},
		{[]string{"PYHOST_WORKER=1", "PYHOST_WORKER_LISTENERS=1", "PYHOST_WORKER_LIFELINE=x"},
			"PYHOST_WORKER_LIFELINE"},
	} {
		_, isWorker, err := ParseEnv(c.environ)
		if !isWorker || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEnv(%q) = %v, %v; want a worker and an error with %q", c.environ,
				isWorker, err, c.want)
		}
	}
}
