// Package gil holds what decides when a goroutine may run Python: the GIL mode a process runs
// in and the request-thread limit (at most N requests inside Python at once, like mod_wsgi's
// `threads`).
package gil

import "context"

// Limiter admits at most N request threads into Python at once. Goroutines beyond that wait
// in FIFO-ish order on a channel, which costs nothing while they wait.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a limiter with n request threads (n ≥ 1).
func NewLimiter(n int) *Limiter {
	if n < 1 {
		n = 1
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

// Threads is the number of request threads.
func (l *Limiter) Threads() int { return cap(l.slots) }

// Acquire takes a request thread, or returns ctx's error if the request is abandoned first.
func (l *Limiter) Acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives a request thread back.
func (l *Limiter) Release() { <-l.slots }

// Busy is the number of request threads in use now.
func (l *Limiter) Busy() int { return len(l.slots) }
