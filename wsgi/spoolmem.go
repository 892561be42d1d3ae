package wsgi

import (
	"net/http"
	"sync"
)

// memQueue is the part of a spool held in memory: bytes in fixed-size blocks from a free list
// that every response shares. A block is filled once, written once and goes straight back,
// so a streamed response neither grows (and copies again) a buffer of its own nor faults in
// fresh pages for each response.
type memQueue struct {
	blocks []*[]byte
	n      int64 // bytes in blocks
}

const memBlockSize = 64 << 10

// maxFreeBlocks bounds the blocks kept for reuse (4 MiB): enough for the streamed responses a
// busy process has in flight at once, beyond it blocks go to the collector.
const maxFreeBlocks = 64

// memBlocks are the blocks kept for reuse. A free list rather than a sync.Pool: a pool is
// emptied by every other garbage collection, so under steady streaming the blocks were freed
// and made again all the time and the process's resident memory saw-toothed by megabytes
// (scripts/bench/soak.sh); kept here, they stay the same pages.
var memBlocks blockFreeList

type blockFreeList struct {
	mu   sync.Mutex
	free []*[]byte
}

func (l *blockFreeList) get() *[]byte {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		b := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return b
	}
	l.mu.Unlock()
	b := make([]byte, 0, memBlockSize)
	return &b
}

func (l *blockFreeList) put(b *[]byte) {
	*b = (*b)[:0]
	l.mu.Lock()
	if len(l.free) < maxFreeBlocks {
		l.free = append(l.free, b)
	}
	l.mu.Unlock()
}

// add copies p in after the bytes already queued.
func (q *memQueue) add(p []byte) {
	for len(p) > 0 {
		if len(q.blocks) == 0 || len(*q.blocks[len(q.blocks)-1]) == memBlockSize {
			q.blocks = append(q.blocks, memBlocks.get())
		}
		last := q.blocks[len(q.blocks)-1]
		k := copy((*last)[len(*last):memBlockSize], p)
		*last = (*last)[:len(*last)+k]
		p = p[k:]
		q.n += int64(k)
	}
}

// writeTo writes the queued bytes to w in order, stopping at the first error.
func (q *memQueue) writeTo(w http.ResponseWriter) error {
	for _, b := range q.blocks {
		if _, err := w.Write(*b); err != nil {
			return err
		}
	}
	return nil
}

// reset empties q, giving its blocks back to the pool.
func (q *memQueue) reset() {
	for i, b := range q.blocks {
		memBlocks.put(b)
		q.blocks[i] = nil
	}
	q.blocks, q.n = q.blocks[:0], 0
}
