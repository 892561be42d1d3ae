// Package wsgi serves HTTP requests with a WSGI application (PEP 3333) running in an embedded
// interpreter: net/http request → packed environ → one cgo call → response.
package wsgi

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/gil"
)

// Handler is an http.Handler that runs a WSGI app.
type Handler struct {
	Interp     *cgo.Interp
	Threads    *gil.Limiter
	ScriptName string // mount point ("" for the root)
	Log        *slog.Logger
}

type scratch struct {
	call    *cgo.Call
	environ []byte
	idbuf   []byte
	rio     requestIO
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{call: cgo.NewCall(), environ: make([]byte, 0, 2048)}
}}

// Request ids: a random per-process prefix and a counter, unique and cheap.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.Threads.Acquire(r.Context()); err != nil {
		return // the client went away while waiting for a request thread
	}
	defer h.Threads.Release()

	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.idbuf = strconv.AppendUint(append(s.idbuf[:0], idPrefix...), idCounter.Add(1), 10)
	requestID := string(s.idbuf)
	s.environ = packEnviron(s.environ[:0], r, h.ScriptName, requestID)
	s.rio = requestIO{w: w, r: r}
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody

	call := s.call
	h.Interp.Serve(call, s.environ, hasBody, &s.rio)
	defer call.Release()
	s.rio = requestIO{}

	switch call.Outcome() {
	case cgo.Respond:
		body := call.Body()
		writeHead(w, call.Head(), call.Status(), int64(len(body)))
		if len(body) > 0 && r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	case cgo.Streamed:
	case cgo.Failed:
		h.Log.Error("WSGI application failed", "request_id", requestID, "method", r.Method,
			"path", r.URL.Path, "traceback", call.Err())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal Server Error\n"))
	case cgo.Aborted:
		if tb := call.Err(); tb != "" {
			h.Log.Error("WSGI application failed after the response started; connection dropped",
				"request_id", requestID, "method", r.Method, "path", r.URL.Path, "traceback", tb)
		} else if call.ClientGone() {
			h.Log.Info("client disconnected mid-request", "request_id", requestID,
				"path", r.URL.Path)
		}
		// Tell net/http to drop the connection rather than end a response that is incomplete.
		panic(http.ErrAbortHandler)
	}
}
