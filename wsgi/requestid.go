package wsgi

import (
	"net/http"
	"strconv"
)

// MaxRequestIDLength bounds a client's X-Request-Id that --trust-request-id keeps.
const MaxRequestIDLength = 128

// requestID is the request's id: the client's X-Request-Id when TrustRequestID is set and it
// is valid, else a new one (this process's random prefix and a counter). The app sees it as
// environ["pyhost.request_id"], the logs and the access log carry it, and so does the
// response's X-Request-Id header.
func (h *Handler) requestID(w http.ResponseWriter, r *http.Request, s *scratch) string {
	var id string
	if v := r.Header["X-Request-Id"]; h.TrustRequestID && len(v) == 1 && validRequestID(v[0]) {
		id = v[0]
	} else {
		s.idbuf = strconv.AppendUint(append(s.idbuf[:0], idPrefix...), idCounter.Add(1), 10)
		id = string(s.idbuf)
	}
	// Set as one key, already canonical: no allocation for the key.
	w.Header()["X-Request-Id"] = []string{id}
	return id
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
