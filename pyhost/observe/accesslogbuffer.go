package observe

import (
	"io"
	"sync"
	"time"
)

// accessLogBuffer gathers access-log lines and writes them several at a time
// (--access-log-buffer, like nginx's access_log buffer=): one write(2) per buffer instead of
// one per request. Each write holds whole lines only, so with O_APPEND the lines of several
// workers still never interleave. What is buffered is written at the latest
// accessLogFlushEvery later, and when the process stops; a crash loses at most that much.
type accessLogBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	b    []byte
	size int
}

// accessLogFlushEvery is how long a buffered line may wait to be written.
const accessLogFlushEvery = time.Second

// pipeAtomicWrite is PIPE_BUF on Linux: a write to a pipe up to this size is never split, so
// lines written to stdout (--access-log -) by several workers sharing it stay whole.
const pipeAtomicWrite = 4096

func newAccessLogBuffer(w io.Writer, size int) *accessLogBuffer {
	lb := &accessLogBuffer{w: w, b: make([]byte, 0, size), size: size}
	go func() {
		for range time.Tick(accessLogFlushEvery) {
			_ = lb.flush()
		}
	}()
	return lb
}

// add buffers line, writing out what the buffer held first if line does not fit, and line
// itself at once if it is larger than the buffer.
func (lb *accessLogBuffer) add(line []byte) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	var err error
	if len(lb.b)+len(line) > lb.size {
		err = lb.writeLocked()
	}
	if len(line) > lb.size {
		if _, werr := lb.w.Write(line); err == nil {
			err = werr
		}
		return err
	}
	lb.b = append(lb.b, line...)
	return err
}

// flush writes what is buffered.
func (lb *accessLogBuffer) flush() error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.writeLocked()
}

func (lb *accessLogBuffer) writeLocked() error {
	if len(lb.b) == 0 {
		return nil
	}
	_, err := lb.w.Write(lb.b)
	lb.b = lb.b[:0] // a failed write's lines are dropped, as an unbuffered line would be
	return err
}
