package observe

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

func TestParseThreadsQuery(t *testing.T) {
	for _, c := range []struct {
		url, accept string
		want        ThreadsQuery
		bad         bool
	}{
		{url: "/debug/threads", want: ThreadsQuery{Wait: time.Second}},
		{url: "/debug/threads?stacks=1&wait=250ms", want: ThreadsQuery{Stacks: true, Wait: 250 * time.Millisecond}},
		{url: "/debug/threads?format=text", want: ThreadsQuery{Wait: time.Second, Text: true}},
		{url: "/debug/threads", accept: "text/plain", want: ThreadsQuery{Wait: time.Second, Text: true}},
		{url: "/debug/threads", accept: "text/plain, application/json", want: ThreadsQuery{Wait: time.Second}},
		{url: "/debug/threads?stacks=yes", bad: true},
		{url: "/debug/threads?wait=2m", bad: true},
		{url: "/debug/threads?wait=0s", bad: true},
		{url: "/debug/threads?format=xml", bad: true},
	} {
		r := httptest.NewRequest("GET", c.url, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		got, err := ParseThreadsQuery(r)
		switch {
		case c.bad && err == nil:
			t.Errorf("%s: no error", c.url)
		case !c.bad && err != nil:
			t.Errorf("%s: %v", c.url, err)
		case !c.bad && got != c.want:
			t.Errorf("%s (Accept %q): %+v, want %+v", c.url, c.accept, got, c.want)
		}
	}
}

func TestWriteThreads(t *testing.T) {
	v := ThreadsView{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Processes: []ProcessThreads{
		{PID: 12, ProcessGroup: "web", Slot: 1, State: "serving", Threads: 4, Busy: 1,
			Requests: []request.BusyThread{{Thread: 2, Method: "GET", Path: "/slow", RequestID: "r1",
				RunningSeconds: 1.5, ApplicationGroup: "%{GLOBAL}", Stack: "a\nb\n"}}},
		{PID: 13, ProcessGroup: "web", Slot: 0, Requests: []request.BusyThread{}, Error: "timed out"},
	}}
	SortProcesses(v.Processes)
	if v.Processes[0].Slot != 0 {
		t.Fatalf("sorted: %+v, want slot 0 first", v.Processes)
	}

	rec := httptest.NewRecorder()
	WriteThreads(rec, ThreadsQuery{Text: true}, v)
	text := rec.Body.String()
	for _, want := range []string{
		"pyhost request threads at 2025-01-02T03:04:05Z\n",
		"process 13, process group web, worker 0: no answer: timed out\n",
		"process 12, process group web, worker 1 (serving): 1 of 4 request threads busy\n",
		"  thread 2: GET /slow  request r1  running 1.5s  application group %{GLOBAL}, interpreter 0\n    a\n    b\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text form lacks %q:\n%s", want, text)
		}
	}

	rec = httptest.NewRecorder()
	WriteThreads(rec, ThreadsQuery{}, v)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var back ThreadsView
	if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Processes) != 2 || back.Processes[1].Requests[0].Path != "/slow" {
		t.Errorf("JSON round trip: %+v", back)
	}
}
