// Package gil holds what decides when a goroutine may run Python: the GIL mode a process runs
// in and the request-thread limit (at most N requests inside Python at once, like mod_wsgi's
// `threads`).
package gil

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Limiter admits at most N request threads into Python at once. Goroutines beyond that wait
// in FIFO-ish order on a channel, which costs nothing while they wait. A request thread is
// numbered (0..N-1), so per-thread scratch state can be kept in an array.
type Limiter struct {
	free chan int
	// waiting counts the requests queued for a thread (the slow path only: the metrics read it).
	waiting atomic.Int64
}

// NewLimiter returns a limiter with n request threads (n ≥ 1).
func NewLimiter(n int) *Limiter {
	n = max(n, 1)
	l := &Limiter{free: make(chan int, n)}
	for i := 0; i < n; i++ {
		l.free <- i
	}
	return l
}

// Threads is the number of request threads.
func (l *Limiter) Threads() int { return cap(l.free) }

// Acquire takes a request thread and returns its number, or ctx's error if the request is
// abandoned first.
func (l *Limiter) Acquire(ctx context.Context) (int, error) {
	if t, ok := l.tryAcquire(); ok {
		return t, nil
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	select {
	case t := <-l.free:
		return t, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// tryAcquire takes a free request thread without waiting (and without counting a waiter).
func (l *Limiter) tryAcquire() (int, bool) {
	select {
	case t := <-l.free:
		return t, true
	default:
		return -1, false
	}
}

// ErrQueueTimeout means no request thread came free within the queue timeout.
var ErrQueueTimeout = errors.New("no request thread came free within the queue timeout")

// AcquireWithin is Acquire with a bound on the wait (queue ≤ 0: none): past it, it returns
// ErrQueueTimeout. A free thread is taken at once, without starting a timer.
func (l *Limiter) AcquireWithin(ctx context.Context, queue time.Duration) (int, error) {
	if queue <= 0 {
		return l.Acquire(ctx)
	}
	if t, ok := l.tryAcquire(); ok {
		return t, nil
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	timer := time.NewTimer(queue)
	defer timer.Stop()
	select {
	case t := <-l.free:
		return t, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	case <-timer.C:
		return -1, ErrQueueTimeout
	}
}

// Release gives request thread t back.
func (l *Limiter) Release(t int) { l.free <- t }

// Waiting is the number of requests waiting for a request thread now.
func (l *Limiter) Waiting() int { return int(l.waiting.Load()) }

// Busy is the number of request threads in use now.
func (l *Limiter) Busy() int { return cap(l.free) - len(l.free) }
