package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PIDFile is a pid file this process wrote (--pid-file): the supervisor's pid under
// --processes, the one process's otherwise, for `kill -HUP $(cat FILE)` and logrotate.
type PIDFile struct {
	path string
	pid  int
}

// WritePIDFile writes this process's pid to path, atomically (a temporary file in the same
// folder, renamed over path, so a reader never sees half a number). A file that names a
// running process is refused: another server is likely using it. One whose process is gone
// (a crash, a kill -9) is replaced, and the log says so.
func WritePIDFile(path string, log *slog.Logger) (*PIDFile, error) {
	pid := os.Getpid()
	if old, err := os.ReadFile(path); err == nil {
		oldPID, convErr := strconv.Atoi(strings.TrimSpace(string(old)))
		switch {
		case convErr != nil || oldPID <= 0:
			log.Warn("replacing a pid file that holds no pid", "pid_file", path)
		case oldPID != pid && alive(oldPID):
			return nil, fmt.Errorf("--pid-file %s names pid %d, which is running: is pyhost "+
				"already running? Stop it first (kill %d), or, if that process is not a pyhost, "+
				"remove the file", path, oldPID, oldPID)
		default:
			log.Info("replacing a stale pid file: its process is gone", "pid_file", path,
				"old_pid", oldPID)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--pid-file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("--pid-file %s: cannot write in its folder: %w", path, err)
	}
	_, err = fmt.Fprintf(tmp, "%d\n", pid)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("--pid-file %s: %w", path, err)
	}
	return &PIDFile{path: path, pid: pid}, nil
}

// alive says whether a process with this pid exists (EPERM: it does, as another user).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Remove removes the pid file if it still names this process (a newer server may have
// replaced it); a failure is logged (started as root with --user and no supervisor, the
// process may no longer be allowed to remove it).
func (p *PIDFile) Remove(log *slog.Logger) {
	if p == nil {
		return
	}
	data, err := os.ReadFile(p.path)
	if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(p.pid) {
		return
	}
	if err := os.Remove(p.path); err != nil {
		log.Warn("could not remove the pid file", "pid_file", p.path, "error", err)
	}
}
