package gil

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"shared": Shared, "OWN": Own, "free": Free} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseMode("none"); err == nil || !strings.Contains(err.Error(), "shared, own or free") {
		t.Errorf("ParseMode(none): %v", err)
	}
}

func TestCheck(t *testing.T) {
	py311 := Build{VersionHex: 0x030B02F0, Version: "3.11.2"}
	py312 := Build{VersionHex: 0x030C01F0, Version: "3.12.1"}
	py313t := Build{VersionHex: 0x030D05F0, Version: "3.13.5", FreeThreaded: true}
	cases := []struct {
		mode Mode
		b    Build
		want string // "" = accepted
	}{
		{Shared, py311, ""}, {Shared, py313t, ""},
		{Own, py311, "--gil own needs Python ≥ 3.12 (PEP 684); this binary is linked against 3.11.2: rebuild with make PYTHON="},
		{Own, py312, ""},
		{Own, py313t, "needs a CPython built with the GIL; this binary is linked against 3.13.5 (free-threaded)"},
		{Free, py312, "--gil free needs a free-threaded CPython (PEP 703, 3.13t); this binary is linked against 3.12.1"},
		{Free, py313t, ""},
	}
	for _, c := range cases {
		err := c.mode.Check(c.b)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s on %s refused: %v", c.mode, c.b.Version, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s on %s: %v, want %q", c.mode, c.b.Version, err, c.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(2)
	ctx := t.Context()
	a, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Acquire(ctx)
	if err != nil || a == b || a < 0 || b < 0 || a > 1 || b > 1 {
		t.Fatalf("threads %d and %d (%v), want 0 and 1", a, b, err)
	}
	if l.Busy() != 2 || l.Threads() != 2 {
		t.Errorf("busy %d threads %d", l.Busy(), l.Threads())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(cancelled); err == nil {
		t.Errorf("a third request thread was granted beyond the limit")
	}
	l.Release(a)
	if c, err := l.Acquire(ctx); err != nil || c != a {
		t.Errorf("after a release: %d, %v; want thread %d back", c, err, a)
	}
}

func TestWaits(t *testing.T) {
	n0, total0 := Waits()
	RecordWait(3 * time.Millisecond)
	RecordWait(time.Millisecond)
	n, total := Waits()
	if n-n0 != 2 || total-total0 != 4*time.Millisecond {
		t.Errorf("recorded %d waits totalling %s, want 2 and 4ms", n-n0, total-total0)
	}
}
