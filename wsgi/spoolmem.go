package wsgi

import (
	"net/http"
	"sync"
)

// memQueue is the part of a spool held in memory: bytes in fixed-size blocks from a pool
// that every response shares. A block is filled once, written once and goes straight back,
// so a streamed response neither grows (and copies again) a buffer of its own nor faults in
// fresh pages for each response.
type memQueue struct {
	blocks []*[]byte
	n      int64 // bytes in blocks
}

const memBlockSize = 64 << 10

var memBlocks = sync.Pool{New: func() any { b := make([]byte, 0, memBlockSize); return &b }}

// add copies p in after the bytes already queued.
func (q *memQueue) add(p []byte) {
	for len(p) > 0 {
		if len(q.blocks) == 0 || len(*q.blocks[len(q.blocks)-1]) == memBlockSize {
			q.blocks = append(q.blocks, memBlocks.Get().(*[]byte))
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
		*b = (*b)[:0]
		memBlocks.Put(b)
		q.blocks[i] = nil
	}
	q.blocks, q.n = q.blocks[:0], 0
}
