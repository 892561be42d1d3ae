package proc

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestPIDFileWrittenAndRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pyhost.pid")
	pf, err := WritePIDFile(path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != strconv.Itoa(os.Getpid())+"\n" {
		t.Errorf("pid file holds %q", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside it: %v", entries)
	}
	pf.Remove(quiet)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file still there: %v", err)
	}
}

func TestPIDFileLiveRefusedStaleReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pyhost.pid")
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	live := cmd.Process.Pid
	_ = os.WriteFile(path, []byte(strconv.Itoa(live)+"\n"), 0o644)
	if _, err := WritePIDFile(path, quiet); err == nil ||
		!strings.Contains(err.Error(), "names pid "+strconv.Itoa(live)+", which is running") {
		t.Errorf("a live pid: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := WritePIDFile(path, quiet); err != nil {
		t.Errorf("a stale pid (%d, gone) was not replaced: %v", live, err)
	}
	// A file a newer server took over is left alone.
	pf := &PIDFile{path: path, pid: live}
	pf.Remove(quiet)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("removed a pid file naming another process: %v", err)
	}
}
