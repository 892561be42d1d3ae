package wsgi

import (
	"net/http"

	"github.com/pyhost/pyhost/wsgi/request"
)

// recordOf returns w's Record, or nil when nobody observes requests (the fast path).
func recordOf(w http.ResponseWriter) *request.Record {
	if rw, ok := w.(request.Recorder); ok {
		return rw.WSGIRecord()
	}
	return nil
}
