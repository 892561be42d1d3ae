package cgo

/*
#include <stdint.h>
#include <stddef.h>

// One record of what the app logged (applog.c hands it to pyhostAppLog).
enum { PYH_APPLOG_WRITE = 0, PYH_APPLOG_RECORD = 1, PYH_APPLOG_EXCEPTION = 2 };
typedef struct {
	uintptr_t handle; // the request whose thread wrote it; 0: none
	int kind;         // PYH_APPLOG_*
	int stream;       // 0: wsgi.errors, 1: sys.stderr
	int level;        // PYH_APPLOG_RECORD: the LogRecord's levelno
	const char *text; size_t text_len;             // the text written, or the exception's message
	const char *tb; size_t tb_len;                 // PYH_APPLOG_EXCEPTION: its traceback
	const char *level_name; size_t level_name_len; // PYH_APPLOG_RECORD: its levelname
	const char *logger; size_t logger_len;         // PYH_APPLOG_RECORD: its logger's name
} pyh_applog_rec;
*/
import "C"

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/cgo"
	"sync/atomic"
	"time"
)

// AppRecord is one record of what the app logged: a write to wsgi.errors or sys.stderr (a
// line, or several written at once), a record of Python's logging module written there by
// one of its handlers, or an exception nobody caught.
type AppRecord struct {
	Exception bool   // an uncaught exception: Text is its message, Traceback its traceback
	Stream    string // "wsgi.errors" or "sys.stderr": where the app wrote it
	Text      string
	Traceback string
	// A record of logging (Logger != ""): its levelno, levelname and logger's name.
	PyLevel     int
	PyLevelName string
	Logger      string
}

// AppLogger is implemented by a RequestIO that logs, with its request's id, what the app
// writes to wsgi.errors and sys.stderr and the exceptions Python reports as unraisable.
type AppLogger interface {
	AppLog(rec AppRecord)
}

// appLog logs what no request owns (an app's own thread, import time).
var appLog atomic.Pointer[slog.Logger]

//export pyhostAppLog
func pyhostAppLog(r *C.pyh_applog_rec) {
	callbacks.Add(1)
	rec := AppRecord{
		Exception: r.kind == C.PYH_APPLOG_EXCEPTION,
		Stream:    "wsgi.errors",
		Text:      string(bytesOf(r.text, r.text_len)),
		Traceback: string(bytesOf(r.tb, r.tb_len)),
	}
	if r.stream == 1 {
		rec.Stream = "sys.stderr"
	}
	if r.kind == C.PYH_APPLOG_RECORD {
		rec.PyLevel = int(r.level)
		rec.PyLevelName = string(bytesOf(r.level_name, r.level_name_len))
		rec.Logger = string(bytesOf(r.logger, r.logger_len))
		if rec.Logger == "" {
			rec.Logger = "root"
		}
	}
	if r.handle != 0 {
		if l, ok := cgo.Handle(r.handle).Value().(AppLogger); ok {
			l.AppLog(rec)
			return
		}
	}
	log := appLog.Load()
	if log == nil {
		log = slog.Default()
	}
	if rec.Exception {
		log.Error("uncaught exception in the app, outside any request", "error", rec.Text,
			"traceback", rec.Traceback)
		return
	}
	rec.Log(log)
}

// Log logs a write or a record of logging (not an exception) to log, with attrs before the
// text: msg is the stream, the level that of the logging record (WARN for a plain write), and
// a record of logging carries its logger's name. A record of logging is written whatever
// log's level: Python's logging already chose to emit it.
func (rec AppRecord) Log(log *slog.Logger, attrs ...any) {
	level := slog.LevelWarn
	if rec.Logger != "" {
		level = slogLevel(rec.PyLevel)
		attrs = append(attrs, "logger", rec.Logger)
		if std, ok := pythonLevels[rec.PyLevel]; !ok || std != rec.PyLevelName {
			attrs = append(attrs, "python_level", rec.PyLevelName)
		}
	}
	attrs = append(attrs, "text", rec.Text)
	h := log.Handler()
	if rec.Logger == "" && !h.Enabled(context.Background(), level) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	r := slog.NewRecord(time.Now(), level, rec.Stream, pcs[0])
	r.Add(attrs...)
	_ = h.Handle(context.Background(), r)
}

// pythonLevels are logging's own levels that have a level of slog of the same meaning.
var pythonLevels = map[int]string{10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR"}

// slogLevel is the level of slog for a levelno of logging: DEBUG below INFO (20), INFO below
// WARNING (30), WARN below ERROR (40), ERROR from there (CRITICAL included, which keeps its
// name in python_level).
func slogLevel(n int) slog.Level {
	switch {
	case n >= 40:
		return slog.LevelError
	case n >= 30:
		return slog.LevelWarn
	case n >= 20:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
