package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// LogConfig is where pyhost's own log and the access log go, and in which form.
type LogConfig struct {
	// Format of pyhost's own log records: "text" (slog's key=value, the default) or "json".
	Format string
	// ErrorLog, when set, is the file pyhost's own log goes to instead of stderr (reopened
	// on SIGUSR1).
	ErrorLog string
	// AccessLog is the file every answered request is logged to ("-": stdout; "": none).
	AccessLog string
	// AccessLogFormat is "combined" (Apache's, with pyhost's fields appended) or "json".
	AccessLogFormat string
	// AccessLogBuffer, when > 0, gathers access-log lines and writes up to this many bytes
	// at once (written within a second, and when the process stops).
	AccessLogBuffer int
	// TrustRequestID keeps a client's X-Request-Id (when it is valid) instead of making one.
	TrustRequestID bool
}

// Log formats.
const (
	LogFormatText     = "text"
	LogFormatJSON     = "json"
	AccessLogCombined = "combined"
)

// logFlags defines serve's logging flags on l.
func logFlags(fs *flag.FlagSet, l *LogConfig) {
	l.Format, l.AccessLogFormat = LogFormatText, AccessLogCombined
	fs.Func("log-format", "form of the log records on stderr (or --error-log), pyhost's and "+
		"the app's (wsgi.errors, sys.stderr, Python logging at its level): text (key=value, "+
		"the default) or json (one object); either way one record a line, a traceback "+
		"included", oneOf(&l.Format, LogFormatText, LogFormatJSON))
	fs.StringVar(&l.ErrorLog, "error-log", "", "write pyhost's log (and what apps write "+
		"to wsgi.errors and sys.stderr) to FILE instead of stderr, appending; SIGUSR1 reopens it")
	fs.StringVar(&l.AccessLog, "access-log", "", "log every request to FILE (appending; "+
		"SIGUSR1 reopens it) or to stdout with -; off unless given; with several process "+
		"groups, the router's own answers go to the first group's, as process_group router")
	fs.Func("access-log-format", "form of the access log: combined (Apache's combined "+
		"format with request id, duration, process group, application group, pid and GIL "+
		"wait appended; the default) or json", oneOf(&l.AccessLogFormat, AccessLogCombined, LogFormatJSON))
	fs.Var(intSize{&l.AccessLogBuffer}, "access-log-buffer", "gather access-log lines and "+
		"write up to SIZE bytes of them at once (e.g. 64KiB), each line at most a second late; "+
		"a crash loses up to a second of lines (0: each line written as its request ends; "+
		"with --access-log - at most 4KiB, so lines stay whole)")
	fs.BoolVar(&l.TrustRequestID, "trust-request-id", false, "keep the X-Request-Id a client "+
		"sends (up to 128 visible ASCII characters; anything else is replaced) instead of "+
		"making one: use it behind a proxy that sets it")
}

// check refuses log files that cannot be written where they are named, before anything
// starts (and in check-config).
func (l LogConfig) check() error {
	for _, f := range []struct{ flag, path string }{
		{"--error-log", l.ErrorLog}, {"--access-log", l.AccessLog}} {
		if f.path == "" || f.path == "-" && f.flag == "--access-log" {
			continue
		}
		fi, err := os.Stat(filepath.Dir(f.path))
		if err == nil && !fi.IsDir() {
			err = errors.New("not a folder")
		}
		if err != nil {
			return fmt.Errorf("%s %s: its folder %s cannot hold it (%v): create the folder or "+
				"name another file", f.flag, f.path, filepath.Dir(f.path), errors.Unwrap(err))
		}
		if fi, err := os.Stat(f.path); err == nil && fi.IsDir() {
			return fmt.Errorf("%s %s is a folder: name a file", f.flag, f.path)
		}
	}
	return nil
}

// oneOf is a flag's setter that takes one of two values into *dst and refuses others.
func oneOf(dst *string, a, b string) func(string) error {
	return func(v string) error {
		if v != a && v != b {
			return fmt.Errorf("want %s or %s, got %q", a, b, v)
		}
		*dst = v
		return nil
	}
}
