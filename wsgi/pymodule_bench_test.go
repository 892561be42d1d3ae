package wsgi

import "testing"

// The cost of the pyhost module's observation, on top of BenchmarkHello (which measures it
// off: one flag check). Each app switches its part on for the rest of the process, so these
// run after the other benchmarks (this file sorts after handler_bench_test.go, and `go test
// -bench` runs benchmarks in file order) and in this order.

// BenchmarkHelloPymoduleMetrics: an app asked for metrics, so every request is counted and
// timed (two clock reads and a few atomic adds).
func BenchmarkHelloPymoduleMetrics(b *testing.B) { benchObserved(b, "hello_metrics.py") }

// BenchmarkHelloPymoduleEvents: metrics, and an event callback that does nothing in the
// interpreter: request_started and request_finished are delivered to it.
func BenchmarkHelloPymoduleEvents(b *testing.B) { benchObserved(b, "hello_events.py") }

func benchObserved(b *testing.B, script string) { benchServe(b, benchHandler(b, script)) }
