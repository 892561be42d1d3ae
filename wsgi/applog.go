package wsgi

import "github.com/pyhost/pyhost/cgo"

// AppLog logs what the app wrote to wsgi.errors or sys.stderr (a record of logging at its
// level), or an exception Python reported as unraisable, on the thread serving this request:
// the record carries its request id (cgo.AppLogger; called back from cgo/applog.c).
func (rio *requestIO) AppLog(rec cgo.AppRecord) {
	if rec.Exception {
		rio.log.Error("uncaught exception in the app", "request_id", rio.id, "error", rec.Text,
			"path", rio.r.URL.Path, "traceback", rec.Traceback)
		return
	}
	rec.Log(rio.log, "request_id", rio.id)
}
