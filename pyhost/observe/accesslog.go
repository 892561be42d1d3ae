package observe

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pyhost/pyhost/pyhost/config"
)

// AccessLog is the observer that writes one line per answered request (--access-log): Apache's
// combined format with pyhost's own fields appended, or a JSON object with the same fields.
// Each line is built in a pooled buffer without fmt and written with one Write, which for a
// file is one write(2) with O_APPEND: the workers of --processes share the file safely.
// A nil *AccessLog is a process without one: its Flush does nothing.
type AccessLog struct {
	w            io.Writer
	json         bool
	processGroup string
	pid          int
	log          *slog.Logger
	failing      atomic.Bool // the last write failed (logged once until one succeeds)
	// buffer gathers lines to write several at once (--access-log-buffer); nil: each line
	// is written as its request ends.
	buffer *accessLogBuffer
}

// OpenAccessLog opens the access log l names (nil when there is none); processGroup is the
// process group its lines name ("" for serve's command line: config.ProcessGroupName).
func OpenAccessLog(l config.LogConfig, processGroup string, log *slog.Logger) (*AccessLog, error) {
	if l.AccessLog == "" {
		return nil, nil
	}
	al := &AccessLog{json: l.AccessLogFormat == config.LogFormatJSON,
		processGroup: config.ProcessGroupName(processGroup),
		pid:          os.Getpid(), log: log}
	if l.AccessLog == "-" {
		al.w = os.Stdout
	} else {
		lf, err := openLogFile(l.AccessLog)
		if err != nil {
			return nil, fmt.Errorf("--access-log %s: %w", l.AccessLog, err)
		}
		al.w = lf
	}
	if size := l.AccessLogBuffer; size > 0 {
		if l.AccessLog == "-" {
			size = min(size, pipeAtomicWrite)
		}
		al.buffer = newAccessLogBuffer(al.w, size)
	}
	return al, nil
}

// Flush writes the buffered lines, if any (the process is stopping).
func (al *AccessLog) Flush() {
	if al != nil && al.buffer != nil {
		al.noteWrite(al.buffer.flush())
	}
}

var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Observe is the Observer: it logs f.
func (al *AccessLog) Observe(f *Finished) {
	bp := lineBuffers.Get().(*[]byte)
	var line []byte
	if al.json {
		line = al.appendJSON((*bp)[:0], f)
	} else {
		line = al.appendCombined((*bp)[:0], f)
	}
	var err error
	if al.buffer != nil {
		err = al.buffer.add(line)
	} else {
		_, err = al.w.Write(line)
	}
	if cap(line) <= 64<<10 { // a huge request line's buffer is not kept
		*bp = line
		lineBuffers.Put(bp)
	}
	al.noteWrite(err)
}

// noteWrite logs the first of a run of failed writes, and the first success after them.
func (al *AccessLog) noteWrite(err error) {
	if err != nil {
		if !al.failing.Swap(true) {
			al.log.Error("could not write to the access log; requests go unlogged until it "+
				"works again (disk full? file removed without SIGUSR1?)", "error", err)
		}
	} else if al.failing.Load() {
		al.failing.Store(false)
		al.log.Info("writing to the access log again")
	}
}

// The fields pyhost appends to the combined format, and their JSON names.
const (
	fieldRequestID = "request_id"
	fieldDuration  = "duration_us"
	fieldProcGroup = "process_group"
	fieldAppGroup  = "application_group"
	fieldPID       = "pid"
	fieldGILWait   = "gil_wait_us"
)

// appendCombined: host ident user [time] "request line" status bytes "referer" "user-agent",
// then request_id="…" duration_us=N process_group="…" application_group="…" pid=N
// gil_wait_us=N. Quoted values escape '"', '\' and bytes outside printable ASCII as \xHH.
func (al *AccessLog) appendCombined(b []byte, f *Finished) []byte {
	r := f.Request
	if host := remoteHost(r.RemoteAddr); host != "" {
		b = append(b, host...)
	} else {
		b = append(b, '-') // a client on a Unix socket
	}
	b = append(b, " - - ["...)
	b = appendCombinedTime(b, f.Start)
	b = append(b, "] \""...)
	b = appendEscaped(b, r.Method)
	b = append(b, ' ')
	b = appendEscaped(b, r.RequestURI)
	b = append(b, ' ')
	b = appendEscaped(b, r.Proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(f.Status), 10)
	b = append(b, ' ')
	if f.Bytes > 0 {
		b = strconv.AppendInt(b, f.Bytes, 10)
	} else {
		b = append(b, '-')
	}
	b = appendQuoted(append(b, ' '), headerValue(r.Header["Referer"]))
	b = appendQuoted(append(b, ' '), headerValue(r.Header["User-Agent"]))
	b = appendQuoted(append(b, " "+fieldRequestID+"="...), f.WSGI.RequestID)
	b = strconv.AppendInt(append(b, " "+fieldDuration+"="...), f.Duration.Microseconds(), 10)
	b = appendQuoted(append(b, " "+fieldProcGroup+"="...), al.processGroup)
	b = appendQuoted(append(b, " "+fieldAppGroup+"="...), f.WSGI.Group)
	b = strconv.AppendInt(append(b, " "+fieldPID+"="...), int64(al.pid), 10)
	b = strconv.AppendInt(append(b, " "+fieldGILWait+"="...), f.WSGI.GILWait.Microseconds(), 10)
	return append(b, '\n')
}

// appendJSON writes the same fields as one JSON object (absent values as "").
func (al *AccessLog) appendJSON(b []byte, f *Finished) []byte {
	r := f.Request
	b = append(b, `{"time":"`...)
	b = append(appendJSONTime(b, f.Start), '"')
	b = appendJSONField(b, "remote_addr", remoteHost(r.RemoteAddr))
	b = appendJSONField(b, "method", r.Method)
	b = appendJSONField(b, "uri", r.RequestURI)
	b = appendJSONField(b, "protocol", r.Proto)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(f.Status), 10)
	b = strconv.AppendInt(append(b, `,"bytes":`...), f.Bytes, 10)
	b = appendJSONField(b, "referer", headerValue(r.Header["Referer"]))
	b = appendJSONField(b, "user_agent", headerValue(r.Header["User-Agent"]))
	b = appendJSONField(b, fieldRequestID, f.WSGI.RequestID)
	b = strconv.AppendInt(append(b, `,"`+fieldDuration+`":`...), f.Duration.Microseconds(), 10)
	b = appendJSONField(b, fieldProcGroup, al.processGroup)
	b = appendJSONField(b, fieldAppGroup, f.WSGI.Group)
	b = strconv.AppendInt(append(b, `,"`+fieldPID+`":`...), int64(al.pid), 10)
	b = strconv.AppendInt(append(b, `,"`+fieldGILWait+`":`...), f.WSGI.GILWait.Microseconds(), 10)
	return append(b, "}\n"...)
}

// stamp is one second's time text, formatted once for all the lines of that second: the
// combined format's whole time, and the JSON form's date-time and zone (the microseconds
// between them change with every line).
type stamp struct {
	sec            int64
	combined       []byte
	jsonDate, zone []byte
}

var lastStamp atomic.Pointer[stamp]

func stampOf(t time.Time) *stamp {
	sec := t.Unix()
	if st := lastStamp.Load(); st != nil && st.sec == sec {
		return st
	}
	st := &stamp{sec: sec, combined: t.AppendFormat(nil, "02/Jan/2006:15:04:05 -0700"),
		jsonDate: t.AppendFormat(nil, "2006-01-02T15:04:05."), zone: t.AppendFormat(nil, "Z07:00")}
	lastStamp.Store(st)
	return st
}

func appendCombinedTime(b []byte, t time.Time) []byte { return append(b, stampOf(t).combined...) }

// appendJSONTime writes t as RFC 3339 with microseconds: 2026-11-27T16:49:52.174467Z.
func appendJSONTime(b []byte, t time.Time) []byte {
	st := stampOf(t)
	b = append(b, st.jsonDate...)
	us := t.Nanosecond() / 1000
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	return append(b, st.zone...)
}

func headerValue(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// remoteHost is the client's address without its port (and an IPv6 address without brackets).
func remoteHost(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && !strings.HasSuffix(addr, "]") {
		addr = addr[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}

// appendQuoted writes s in double quotes, escaped; an empty s as "-" (Apache's absent value).
func appendQuoted(b []byte, s string) []byte {
	if s == "" {
		return append(b, `"-"`...)
	}
	return append(appendEscaped(append(b, '"'), s), '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped keeps a log line one line of printable ASCII whatever a client sent. Runs of
// bytes that need no escape are copied at once (the usual case: all of s).
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		if c == '"' || c == '\\' {
			b = append(b, '\\', c)
		} else {
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendJSONField writes ,"key":"value" with value escaped as JSON requires (invalid UTF-8
// becomes U+FFFD, as encoding/json does). Runs that need no escape are copied at once.
func appendJSONField(b []byte, key, s string) []byte {
	b = append(append(append(b, `,"`...), key...), `":"`...)
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(append(b, s[start:i]...), `\ufffd`...)
				start = i + 1
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c == '"' || c == '\\' {
			b = append(b, '\\', c)
		} else {
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
