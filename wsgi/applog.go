package wsgi

// AppLog logs a line the app wrote to wsgi.errors, or an exception Python reported as
// unraisable, on the thread serving this request: the record carries its request id
// (cgo.AppLogger; called back from cgo/applog.c).
func (rio *requestIO) AppLog(text, traceback string, exception bool) {
	if exception {
		rio.log.Error("uncaught exception in the app", "request_id", rio.id, "error", text,
			"path", rio.r.URL.Path, "traceback", traceback)
		return
	}
	rio.log.Warn("wsgi.errors", "request_id", rio.id, "text", text)
}
