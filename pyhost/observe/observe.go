package observe

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// Finished is one answered request as the observers (metrics, access log) see it.
type Finished struct {
	Request  *http.Request
	Start    time.Time
	Duration time.Duration
	Status   int   // 0 if the handler wrote nothing (a dropped connection)
	Bytes    int64 // response body bytes written
	// Aborted: the response was cut off (the handler panicked with http.ErrAbortHandler).
	Aborted bool
	WSGI    request.Record // zero (Interp -1 aside) for requests no WSGI app served
	// passedOn: another process answered the request and observes it itself (the
	// supervisor's router forwarded it to a worker): the observers skip it (PassedOn).
	passedOn bool
}

// Observer is told about every request once it has ended, on the request's goroutine: it must
// be quick and must not keep f (it is reused).
type Observer func(f *Finished)

// Wrap wraps h so that each observer sees every request h answers. Without observers it
// returns h unchanged: requests then pay nothing for it.
func Wrap(h http.Handler, observers []Observer) http.Handler {
	if len(observers) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := recordingWriterPool.Get().(*recordingWriter)
		rw.reset(w)
		rw.f.Request = r
		rw.f.Start = time.Now()
		defer func() {
			p := recover()
			f := &rw.f
			f.Duration = time.Since(f.Start)
			f.Aborted = p != nil
			if !f.passedOn {
				for _, o := range observers {
					o(f)
				}
			}
			rw.reset(nil)
			recordingWriterPool.Put(rw)
			if p != nil {
				panic(p)
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// PassedOn tells the observers of Wrap that w's request is (on: true) or is not (false: it
// could not be passed on after all, and is answered here) answered by another process that
// observes it itself, so that it is counted and logged once: the supervisor's router marks
// the requests it forwards to a worker. A w that Wrap did not make is left alone.
func PassedOn(w http.ResponseWriter, on bool) {
	for {
		switch rw := w.(type) {
		case *recordingWriter:
			rw.f.passedOn = on
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = rw.Unwrap()
		default:
			return
		}
	}
}

var recordingWriterPool = sync.Pool{New: func() any { return new(recordingWriter) }}

// recordingWriter notes the status and the body bytes of a response. It keeps net/http's
// fast paths: ReadFrom (sendfile) is passed through, and Unwrap lets http.ResponseController
// reach the connection (flush, deadlines).
type recordingWriter struct {
	w http.ResponseWriter
	f Finished
}

func (rw *recordingWriter) reset(w http.ResponseWriter) {
	rw.w = w
	rw.f = Finished{WSGI: request.Record{Interp: -1}}
}

// WSGIRecord lets the WSGI handler fill in f.WSGI (request.Recorder).
func (rw *recordingWriter) WSGIRecord() *request.Record { return &rw.f.WSGI }

func (rw *recordingWriter) Header() http.Header { return rw.w.Header() }

func (rw *recordingWriter) WriteHeader(code int) {
	if rw.f.Status == 0 || rw.f.Status < 200 && code >= 200 {
		rw.f.Status = code
	}
	rw.w.WriteHeader(code)
}

func (rw *recordingWriter) Write(p []byte) (int, error) {
	if rw.f.Status == 0 {
		rw.f.Status = http.StatusOK
	}
	n, err := rw.w.Write(p)
	rw.f.Bytes += int64(n)
	return n, err
}

func (rw *recordingWriter) ReadFrom(src io.Reader) (int64, error) {
	if rw.f.Status == 0 {
		rw.f.Status = http.StatusOK
	}
	n, err := io.Copy(rw.w, src) // rw.w's own ReadFrom: sendfile(2) for a file
	rw.f.Bytes += n
	return n, err
}

func (rw *recordingWriter) Unwrap() http.ResponseWriter { return rw.w }
