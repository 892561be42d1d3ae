package config

import (
	"io"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "8190": 8190, "32K": 32 << 10, "32k": 32 << 10,
		"1M": 1 << 20, "100MiB": 100 << 20, "100MB": 100 << 20, "1G": 1 << 30, " 2 ": 2}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1T", "1.5M", "M", "0x10", "99999999999G"} {
		if _, err := parseSize(in); err == nil || !strings.Contains(err.Error(), "want a size") {
			t.Errorf("parseSize(%q): %v, want a refusal", in, err)
		}
	}
	if formatSize(32<<10) != "32K" || formatSize(100<<20) != "100M" || formatSize(8190) != "8190" {
		t.Errorf("formatSize: %s %s %s", formatSize(32<<10), formatSize(100<<20), formatSize(8190))
	}
}

func TestLimitFlags(t *testing.T) {
	cfg, err := ParseServe([]string{"app.py", "--max-body-size", "5M", "--body-timeout", "3s",
		"--stream-request-body", "--max-header-fields", "50"}, io.Discard, py311)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.MaxBodyBytes != 5<<20 || l.BodyIdleTimeout.String() != "3s" || !l.StreamBody ||
		l.MaxHeaderFields != 50 || l.MaxRequestLine != 8190 || l.MaxHeaderBytes != 32<<10 {
		t.Errorf("limits %+v", l)
	}
	if _, err := ParseServe([]string{"app.py", "--write-timeout", "-1s"}, io.Discard, py311); err == nil ||
		!strings.Contains(err.Error(), "--write-timeout: must not be negative") {
		t.Errorf("negative timeout: %v", err)
	}
}
