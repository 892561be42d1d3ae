package pyhost_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// promtoolPath finds Debian's promtool: on PATH, or where scripts/deps.sh unpacks it.
// make test (scripts/test.sh) sets PYHOST_REQUIRE_PROMTOOL, so there a missing promtool fails
// the test instead of skipping it.
func promtoolPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	const unpacked = "/var/cache/pyhost/promtool/usr/bin/promtool"
	if _, err := os.Stat(unpacked); err == nil {
		return unpacked
	}
	if os.Getenv("PYHOST_REQUIRE_PROMTOOL") != "" {
		t.Fatal("promtool not found (scripts/deps.sh test unpacks it into /var/cache/pyhost/promtool)")
	}
	t.Skip("promtool not found: run scripts/deps.sh test")
	return ""
}

// promtoolCheck runs `promtool check metrics` on an exposition: it must report nothing.
func promtoolCheck(t *testing.T, exposition string) {
	t.Helper()
	cmd := exec.Command(promtoolPath(t), "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
