package wsgi

import (
	"net/http"
	"strconv"
	"unsafe"
)

// MaxRequestIDLength bounds a client's X-Request-Id that --trust-request-id keeps.
const MaxRequestIDLength = 128

// requestID is the request's id: the client's X-Request-Id when TrustRequestID is set and it
// is valid, else a new one (this process's random prefix and a counter). The app sees it as
// environ["pyhost.request_id"], the logs and the access log carry it, and so does the
// response's X-Request-Id header.
func (h *Handler) requestID(w http.ResponseWriter, r *http.Request) string {
	// One allocation holds both the id's bytes and the header's value slice (the header
	// outlives the request thread's scratch: a response is written after the thread is
	// given back). A trusted id is the client's string already.
	held := new(requestIDHeader)
	if v := r.Header["X-Request-Id"]; h.TrustRequestID && len(v) == 1 && validRequestID(v[0]) {
		held.value[0] = v[0]
	} else {
		b := strconv.AppendUint(append(held.buf[:0], idPrefix...), idCounter.Add(1), 10)
		held.value[0] = unsafe.String(&b[0], len(b)) // buf is never written again
	}
	// Set as one key, already canonical.
	w.Header()["X-Request-Id"] = held.value[:]
	return held.value[0]
}

// requestIDHeader is a request id and the response header's value, in one allocation.
type requestIDHeader struct {
	value [1]string
	buf   [32]byte // a generated id: 9 bytes of prefix, at most 20 digits
}

// validRequestID accepts 1 to MaxRequestIDLength visible ASCII characters: nothing that could
// split a log line, forge a log field's end or grow a log without bound.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
