package config

import (
	"io"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "8190": 8190, "8190B": 8190,
		"32K": 32e3, "32k": 32e3, "32kB": 32e3, "32KB": 32e3, "32KiB": 32 << 10, "32Ki": 32 << 10,
		"1M": 1e6, "100MB": 100e6, "100mb": 100e6, "100MiB": 100 << 20, "100 MiB": 100 << 20,
		"1G": 1e9, "1.5G": 1.5e9, "1.5GB": 1.5e9, "1.5GiB": 3 << 29, "0.5KiB": 512,
		"2T": 2e12, "1TiB": 1 << 40, " 2 ": 2, ".5k": 500, "1.0001k": 1000}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1P", "M", "0x10", "1..5M", ".", "1e6", "1.5.5G",
		"10 M B", "1MiBs"} {
		if _, err := parseSize(in); err == nil || !strings.Contains(err.Error(), "want a size") {
			t.Errorf("parseSize(%q): %v, want a refusal", in, err)
		}
	}
	if _, err := parseSize("99999999999G"); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("a size past int64: %v", err)
	}
}

// formatSize writes what parseSize reads back as the same number of bytes, in the largest
// whole unit.
func TestFormatSizeRoundTrips(t *testing.T) {
	want := map[int64]string{0: "0", 8190: "8190", 32 << 10: "32KiB", 100 << 20: "100MiB",
		100e6: "100MB", 1e9: "1GB", 3 << 29: "1536MiB", 2000: "2kB", 1 << 40: "1TiB", 1e12: "1TB",
		1024000: "1000KiB"}
	for n, s := range want {
		if got := formatSize(n); got != s {
			t.Errorf("formatSize(%d) = %s, want %s", n, got, s)
		}
	}
	for _, n := range []int64{0, 1, 999, 1000, 1023, 1024, 1 << 20, 1e6, 123456789, 5 << 30,
		7e12, maxSize} {
		if back, err := parseSize(formatSize(n)); err != nil || back != n {
			t.Errorf("parseSize(formatSize(%d) = %s) = %d, %v", n, formatSize(n), back, err)
		}
	}
}

func TestLimitFlags(t *testing.T) {
	cfg, err := ParseServe([]string{"app.py", "--max-body-size", "5MiB", "--body-timeout", "3s",
		"--stream-request-body", "--max-header-fields", "50", "--body-memory", "1.5MB"}, io.Discard, py311)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.MaxBodyBytes != 5<<20 || l.BodyIdleTimeout.String() != "3s" || !l.StreamBody ||
		l.MaxHeaderFields != 50 || l.MaxRequestLine != 8190 || l.MaxHeaderBytes != 32<<10 ||
		l.BodyMemory != 1.5e6 {
		t.Errorf("limits %+v", l)
	}
	if _, err := ParseServe([]string{"app.py", "--write-timeout", "-1s"}, io.Discard, py311); err == nil ||
		!strings.Contains(err.Error(), "--write-timeout: must not be negative") {
		t.Errorf("negative timeout: %v", err)
	}
	if _, err := ParseServe([]string{"app.py", "--max-header-bytes", "3GiB"}, io.Discard, py311); err == nil ||
		!strings.Contains(err.Error(), "too large for this limit (at most") {
		t.Errorf("a size past an int limit: %v", err)
	}
}

// Every size flag, and so every size key of a config file, reads sizes the same way.
func TestSizeFlagsReadSIAndIEC(t *testing.T) {
	fs := ServeFlags(&Config{}, io.Discard)
	for _, name := range []string{"max-header-bytes", "max-request-line", "max-body-size",
		"body-memory", "stream-buffer", "stream-buffer-memory", "memory-limit", "access-log-buffer"} {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("no --%s", name)
			continue
		}
		if err := fs.Set(name, "1.5KiB"); err != nil || f.Value.String() != "1536" {
			t.Errorf("--%s 1.5KiB: %v, reads back %s", name, err, f.Value)
		}
		if err := fs.Set(name, "2kB"); err != nil || f.Value.String() != "2kB" {
			t.Errorf("--%s 2kB: %v, reads back %s", name, err, f.Value)
		}
	}
}
