// Package observe is how pyhost is watched from outside: what every request and process is
// doing, told to Prometheus, to log files and to whoever asks.
//
// It owns:
//   - the metrics of one server process (Metrics, fed per request by an Observer through
//     Wrap; a nil *Metrics is the no-op of a process without --metrics-listen) and the
//     --metrics-listen listener of /metrics, /healthz and /readyz (MetricsListener);
//   - the access log (AccessLog: Apache's combined format or JSON, optionally buffered);
//   - pyhost's own log (NewLogger) and the log files both write to, opened for appending by
//     several processes and reopened on SIGUSR1 (ReopenOnSIGUSR1, ReopenLogFiles);
//   - the live view of the request threads, /debug/threads (threads.go: the JSON and text
//     forms of what every request thread is doing, with the Python stack on request).
//
// Its subpackage top is `pyhost top`, the terminal view built from the metrics and the
// thread view.
//
// It does not own the supervisor's metrics (worker starts, exits and recycles, and the
// gathering of every worker's registry): those belong to the supervisor, which serves them on
// a MetricsListener too. observe never links Python: it builds with CGO_ENABLED=0, and what it
// needs of the server (the request threads, the WSGI record) comes in as plain values that the
// serving process fills in.
package observe
