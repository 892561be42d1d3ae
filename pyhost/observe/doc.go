// Package observe owns what pyhost tells about a running server: its metrics, the access
// log, the log files (and reopening them), and the live thread view (/debug/threads: the
// JSON and text forms of what every request thread is doing, with the Python stack on
// request). Its subpackage top is `pyhost top`, the terminal view built from them.
//
// It does not serve requests nor read a thread table itself: the serving process (which
// links Python) and the supervisor (which asks its workers) fill its types in, and observe
// writes them out. It builds without cgo.
package observe
