package observe

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/pyhost/pyhost/pyhost/config"
)

// logFile is a log file that several processes append to (the workers of --processes, the
// supervisor): opened with O_APPEND, so that each Write is one write(2) that lands whole at
// the end of the file, never interleaved with another process's line. Reopen (SIGUSR1)
// switches to a fresh file of the same name once logrotate has renamed the old one.
type logFile struct {
	path string
	// mu: Write holds it shared, Reopen exclusively, so no line goes to a file being closed.
	mu sync.RWMutex
	f  *os.File
}

// openFiles are this process's log files, which SIGUSR1 reopens.
var openFiles struct {
	sync.Mutex
	list []*logFile
}

func openLogFile(path string) (*logFile, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	lf := &logFile{path: path, f: f}
	openFiles.Lock()
	openFiles.list = append(openFiles.list, lf)
	openFiles.Unlock()
	return lf, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the log file (is its folder writable by the "+
			"user pyhost runs apps as?): %w", err)
	}
	return f, nil
}

// Write appends p in one write(2): callers pass whole lines.
func (lf *logFile) Write(p []byte) (int, error) {
	lf.mu.RLock()
	defer lf.mu.RUnlock()
	return lf.f.Write(p)
}

// Reopen opens the file's name again (a new file if it was renamed) and closes the old one.
// On failure the old file stays in use.
func (lf *logFile) Reopen() error {
	f, err := openAppend(lf.path)
	if err != nil {
		return err
	}
	lf.mu.Lock()
	old := lf.f
	lf.f = f
	lf.mu.Unlock()
	return old.Close()
}

// ReopenLogFiles reopens every log file of this process (SIGUSR1), saying which could not be.
func ReopenLogFiles(log *slog.Logger) {
	openFiles.Lock()
	files := append([]*logFile(nil), openFiles.list...)
	openFiles.Unlock()
	for _, lf := range files {
		if err := lf.Reopen(); err != nil {
			log.Error("SIGUSR1: could not reopen a log file; still writing to the old one",
				"path", lf.path, "error", err)
		}
	}
	if len(files) > 0 {
		log.Info("SIGUSR1: reopened the log files", "files", len(files))
	}
}

// NewLogger is pyhost's own logger as l asks: text or JSON records on stderr, or in
// --error-log.
func NewLogger(l config.LogConfig, stderr io.Writer) (*slog.Logger, error) {
	w := stderr
	if l.ErrorLog != "" {
		lf, err := openLogFile(l.ErrorLog)
		if err != nil {
			return nil, fmt.Errorf("--error-log %s: %w", l.ErrorLog, err)
		}
		w = lf
	}
	if l.Format == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return slog.New(slog.NewTextHandler(w, nil)), nil
}

// SIGUSR1 reopens the log files (--access-log, --error-log), as logrotate expects: it renames
// the file, sends SIGUSR1, and pyhost goes on in a new file of the old name. The supervisor of
// --processes reopens its own (ReopenLogFiles) and passes the signal on to every worker.

// ReopenOnSIGUSR1 reopens this process's log files on each SIGUSR1 until the returned stop is
// called.
func ReopenOnSIGUSR1(log *slog.Logger) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				ReopenLogFiles(log)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}
