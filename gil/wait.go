package gil

import (
	"sync/atomic"
	"time"
)

// How long requests waited to attach their thread state — to take the GIL, in the shared and
// own modes — the cost a GIL mode puts on an app, summed over the process's life.
var (
	waitTotal atomic.Int64 // nanoseconds
	waits     atomic.Int64
)

// RecordWait adds one request's wait to attach its thread state.
func RecordWait(d time.Duration) {
	waitTotal.Add(int64(d))
	waits.Add(1)
}

// Waits returns how many waits were recorded and their total.
func Waits() (n int64, total time.Duration) {
	return waits.Load(), time.Duration(waitTotal.Load())
}
