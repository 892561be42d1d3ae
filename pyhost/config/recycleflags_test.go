package config

import (
	"strings"
	"testing"
)

// A config file's group with a recycling key but no processes is refused at that key's line.
func TestConfigRecyclingNeedsProcesses(t *testing.T) {
	_, err := parseFile("site.toml", []byte(`listen = ["127.0.0.1:0"]

[group.web]
threads = 4
memory-limit = "300MiB"

[[mount]]
prefix = "/"
app = "app.py"
process-group = "web"
`), py311)
	if err == nil || !strings.Contains(err.Error(), ":5: group.web.memory-limit: "+
		"--memory-limit 300MiB: needs --processes") {
		t.Fatalf("err = %v, want the memory-limit line refused for lacking processes", err)
	}
}
