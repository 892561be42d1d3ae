package wsgi

import (
	"sync/atomic"
	"time"
)

// CallClock samples how long requests stay in their one call into Python, for whoever tunes
// the process to the app's request size (pyhost's Go-processor tuner). Every eighth request
// of each request thread is timed, so the two clock reads cost nothing measurable; the
// samples of all threads add up here until Take.
type CallClock struct {
	sum atomic.Int64 // nanoseconds
	n   atomic.Int64
}

// callSampleEvery: one request in this many (per request thread) is timed.
const callSampleEvery = 8

func (c *CallClock) add(d time.Duration) {
	c.sum.Add(int64(d))
	c.n.Add(1)
}

// Take returns the mean of the samples since the last Take and how many there were.
func (c *CallClock) Take() (mean time.Duration, samples int64) {
	sum, n := c.sum.Swap(0), c.n.Swap(0)
	if n == 0 {
		return 0, 0
	}
	return time.Duration(sum / n), n
}
