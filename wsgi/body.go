package wsgi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrBodyTooLarge means a request body passed the body limit (413).
var ErrBodyTooLarge = errors.New("request body larger than the limit")

// errSpool means a body could not be written to its temporary file (disk full, no such dir).
var errSpool = errors.New("could not spool a request body")

// bodyBuffer holds a whole request body read before the request takes a request thread, so a
// slow client costs a goroutine and this buffer, never a thread: in memory up to a threshold,
// beyond it in an unlinked temporary file. The app's wsgi.input reads it back.
type bodyBuffer struct {
	mem  []byte   // the body while it fits the memory threshold
	file *os.File // the body once it did not (mem is then nil)
	size int64    // bytes held
	off  int64    // read position
}

// memPool recycles small memory buffers (most request bodies are small); large ones go back
// to the garbage collector so an upload burst does not pin memory.
var memPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const pooledMemCap = 64 << 10

// copyBufPool holds the buffers that move body bytes to a temporary file.
var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// fill reads src to its end into b. expect is the declared length (-1: chunked). It stops
// with ErrBodyTooLarge once more than limit bytes arrived (limit ≤ 0: none). memory is the
// in-memory threshold; tempDir where a larger body is spooled.
func (b *bodyBuffer) fill(src io.Reader, expect, memory, limit int64, tempDir string) error {
	if limit > 0 && expect > limit {
		return ErrBodyTooLarge
	}
	if expect > memory {
		if err := b.spill(tempDir); err != nil {
			return err
		}
	} else {
		b.mem = *memPool.Get().(*[]byte)
		if expect > int64(cap(b.mem)) {
			b.mem = make([]byte, 0, expect)
		}
	}
	for {
		if b.file != nil {
			return b.fillFile(src, limit)
		}
		room := min(cap(b.mem), int(memory))
		if len(b.mem) >= room {
			if (expect >= 0 && b.size == expect) || int64(len(b.mem)) >= memory {
				// The declared length, or the memory threshold, is reached: look for the end
				// before growing or spilling to a file for nothing.
				var probe [1]byte
				n, err := src.Read(probe[:])
				if n == 0 && err == io.EOF {
					return nil
				}
				if n == 0 {
					if err != nil {
						return err
					}
					continue // a read of nothing (io.Reader allows it): ask again
				}
				expect = -1 // more than declared (only a faulty reader does this): go on
				if err := b.appendByte(probe[0], memory, limit, tempDir); err != nil {
					return err
				}
				continue
			}
			if err := b.grow(memory, tempDir); err != nil {
				return err
			}
			continue
		}
		n, err := src.Read(b.mem[len(b.mem):room])
		b.mem = b.mem[:len(b.mem)+n]
		b.size += int64(n)
		if limit > 0 && b.size > limit {
			return ErrBodyTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// grow makes room in memory, or spills to a file once the memory threshold is reached.
func (b *bodyBuffer) grow(memory int64, tempDir string) error {
	if int64(len(b.mem)) >= memory {
		return b.spill(tempDir)
	}
	grown := make([]byte, len(b.mem), min(max(2*cap(b.mem), 4<<10), int(memory)))
	copy(grown, b.mem)
	b.putMem()
	b.mem = grown
	return nil
}

func (b *bodyBuffer) appendByte(c byte, memory, limit int64, tempDir string) error {
	b.size++
	if limit > 0 && b.size > limit {
		return ErrBodyTooLarge
	}
	if len(b.mem) == cap(b.mem) || int64(len(b.mem)) >= memory {
		if err := b.grow(memory, tempDir); err != nil {
			return err
		}
	}
	if b.file != nil {
		_, err := b.file.Write([]byte{c})
		return err
	}
	b.mem = append(b.mem, c)
	return nil
}

// spill moves the body to a temporary file, unlinked at once: it disappears with the last
// descriptor, even if the process is killed.
func (b *bodyBuffer) spill(tempDir string) error {
	f, err := os.CreateTemp(tempDir, "pyhost-body-")
	if err != nil {
		return fmt.Errorf("%w to a temporary file (set --body-temp-dir to a writable "+
			"directory with room): %w", errSpool, err)
	}
	_ = os.Remove(f.Name())
	b.file = f
	if len(b.mem) > 0 {
		if _, err := f.Write(b.mem); err != nil {
			return fmt.Errorf("%w: %w", errSpool, err)
		}
	}
	b.putMem()
	return nil
}

func (b *bodyBuffer) fillFile(src io.Reader, limit int64) error {
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	filled := 0 // bytes in buf not yet written: a trickling client costs few writes
	flush := func() error {
		if filled == 0 {
			return nil
		}
		_, err := b.file.Write(buf[:filled])
		filled = 0
		if err != nil {
			return fmt.Errorf("%w: %w", errSpool, err)
		}
		return nil
	}
	for {
		n, err := src.Read(buf[filled:])
		b.size += int64(n)
		if limit > 0 && b.size > limit {
			return ErrBodyTooLarge
		}
		filled += n
		if filled == len(buf) {
			if werr := flush(); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return err
		}
	}
}

// Read gives the body back from the start (wsgi.input).
func (b *bodyBuffer) Read(p []byte) (int, error) {
	if b.off >= b.size {
		return 0, io.EOF
	}
	var n int
	if b.file != nil {
		var err error
		n, err = b.file.ReadAt(p[:min(int64(len(p)), b.size-b.off)], b.off)
		if n == 0 && err != nil {
			return 0, err
		}
	} else {
		n = copy(p, b.mem[b.off:])
	}
	b.off += int64(n)
	return n, nil
}

// Len is the body's length.
func (b *bodyBuffer) Len() int64 { return b.size }

// release returns the memory and closes (and so deletes) the temporary file.
func (b *bodyBuffer) release() {
	if b.file != nil {
		b.file.Close()
		b.file = nil
	}
	b.putMem()
	*b = bodyBuffer{}
}

func (b *bodyBuffer) putMem() {
	if b.mem != nil && cap(b.mem) <= pooledMemCap {
		m := b.mem[:0]
		memPool.Put(&m)
	}
	b.mem = nil
}
