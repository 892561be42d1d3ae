package wsgi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/pyhost/pyhost/wsgi/request"
)

// spool decouples a streamed response (a generator, write(), wsgi.file_wrapper) from its
// client: the app's writes land here and return, a goroutine of the spool's own writes them
// to the client while the app runs, and once the app's part is over the request thread and
// its interpreter go back while the handler's goroutine finishes the writing. A client that
// reads slowly then holds a goroutine and at most the buffer limit, never a request thread —
// as a list body already does (handler.go).
//
// Bytes wait in memory up to Limits.StreamBufferMemory, beyond it in an unlinked temporary
// file, and at Limits.StreamBuffer in all the app's write blocks until the client has taken
// some (backpressure). The writer flushes whenever it has caught up, so a chunk reaches a
// client that reads promptly at once (server-sent events, long polls).
//
// One producer at a time: the C side sends under the request's lock. Whoever writes to the
// client holds the writer role (writing); the drain goroutine takes it while the app runs,
// and finish, on the handler's goroutine, takes it over once the app is done: so the common
// short response is finished without waiting for a wake-up, and nothing touches the
// ResponseWriter after finish returns (net/http's rule). The spool outlives the request's
// scratch state (a request thread's next request reuses that); the last of the goroutine
// and finish to let go of it puts it back in the pool.
type spool struct {
	w        http.ResponseWriter
	r        *http.Request
	memLimit int64 // bytes held in memory at most
	limit    int64 // bytes held in all (memory and file) before the app's write blocks
	tempDir  string
	log      *slog.Logger

	mu        sync.Mutex
	head      []byte // the packed head, to write when headWait
	headWait  bool
	headLen   int64 // the body length writeHead is given (-1: unknown)
	file      *os.File
	fileSend  int64    // bytes of file to send after the head (wsgi.file_wrapper)
	mem       memQueue // bytes waiting in memory, in order before any in spill
	out       memQueue // the writer's batch being written (its bytes still count as held)
	spill     *os.File // the temporary file, made on the first overflow
	spillR    int64    // the writer's read position in spill
	spillW    int64    // the app's write position in spill (spillR < spillW: bytes wait there)
	noSpill   bool     // the temporary file could not be made: memory only
	unflushed bool     // bytes were written to w since its last flush
	writing   bool     // someone holds the writer role (only it touches w)
	closed    bool     // the app's part is over: nothing more will come
	err       error    // a write failed (the client went away or timed out): every write fails
	refs      int      // the drain goroutine and the handler; the last one pools the spool

	// Wake-ups, each holding at most one (a stale one costs a spurious loop, never a miss):
	wake chan struct{} // app → drain goroutine: something to write, or closed
	room chan struct{} // writer → app: bytes left the buffer, or a write failed
	idle chan struct{} // drain goroutine → finish: it let go of the writer role
}

var spoolPool = sync.Pool{New: func() any {
	return &spool{wake: make(chan struct{}, 1), room: make(chan struct{}, 1),
		idle: make(chan struct{}, 1)}
}}

// newSpool starts the drain of a streamed response to w.
func newSpool(w http.ResponseWriter, r *http.Request, lim *request.Limits, log *slog.Logger) *spool {
	sp := spoolPool.Get().(*spool)
	sp.w, sp.r, sp.tempDir, sp.log = w, r, lim.BodyTempDir, log
	sp.limit = lim.StreamBuffer
	sp.memLimit = min(lim.StreamBufferMemory, lim.StreamBuffer)
	sp.refs = 2
	go sp.drain()
	return sp
}

// signal wakes whoever waits on c, without blocking and without piling up wake-ups.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// held is how many body bytes wait; sp.mu held.
func (sp *spool) held() int64 {
	return sp.mem.n + sp.out.n + sp.spillW - sp.spillR
}

// sendHead queues the response's head; bodyLen as writeHead takes it.
func (sp *spool) sendHead(head []byte, bodyLen int64) {
	sp.mu.Lock()
	sp.head = append(sp.head[:0], head...)
	sp.headWait, sp.headLen = true, bodyLen
	sp.mu.Unlock()
	signal(sp.wake)
}

// sendFile queues count bytes of f (from its current offset) after the head; the spool closes
// f when it is done with it.
func (sp *spool) sendFile(f *os.File, count int64) {
	sp.mu.Lock()
	sp.file, sp.fileSend = f, count
	sp.mu.Unlock()
	signal(sp.wake)
}

// write copies p into the buffer, waiting while the buffer is full; it fails once the drain
// has failed or the client went away meanwhile. p may be larger than the whole buffer: it is
// taken in pieces as room appears.
func (sp *spool) write(p []byte) error {
	for len(p) > 0 {
		sp.mu.Lock()
		if sp.err != nil {
			err := sp.err
			sp.mu.Unlock()
			return err
		}
		n := sp.roomFor(int64(len(p)))
		if n == 0 {
			sp.mu.Unlock()
			select {
			case <-sp.room:
			case <-sp.r.Context().Done(): // only a full buffer asks: see pyhost/httpd/fastctx.go
				sp.mu.Lock()
				if sp.err == nil {
					sp.err = errClientGone
				}
				sp.mu.Unlock()
			}
			continue
		}
		if err := sp.put(p[:n]); err != nil {
			sp.mu.Unlock()
			return err
		}
		sp.mu.Unlock()
		signal(sp.wake)
		p = p[n:]
	}
	return nil
}

// errClientGone is the write error of a client that went away while the buffer was full.
var errClientGone = errors.New("client disconnected while the response was buffered")

// roomFor is how many of want bytes the buffer takes now; sp.mu held.
func (sp *spool) roomFor(want int64) int64 {
	limit := sp.limit
	if sp.noSpill {
		// Memory only; with --stream-buffer-memory 0 (all to the file) a little memory
		// still, or the app would wait for ever.
		limit = max(sp.memLimit, min(sp.limit, 16<<10))
	}
	return max(min(want, limit-sp.held()), 0)
}

// put appends p to memory while it fits there and no earlier bytes wait in the file, else to
// the file; sp.mu held.
func (sp *spool) put(p []byte) error {
	inMemory := sp.mem.n + sp.out.n
	if sp.spillW == 0 && (inMemory+int64(len(p)) <= sp.memLimit || sp.noSpill) {
		sp.mem.add(p)
		return nil
	}
	if sp.spill == nil {
		f, err := os.CreateTemp(sp.tempDir, "pyhost-response-*")
		if err != nil {
			// Memory only from now on: this piece is held, then the app's writes wait for
			// the client sooner. Nothing is lost.
			sp.log.Warn("could not make a temporary file for a streamed response; it is "+
				"buffered in memory only (--stream-buffer-memory); check --body-temp-dir",
				"error", err, "path", sp.r.URL.Path)
			sp.noSpill = true
			sp.mem.add(p)
			return nil
		}
		_ = os.Remove(f.Name()) // unlinked: the disk space goes with the descriptor
		sp.spill = f
	}
	if _, err := sp.spill.WriteAt(p, sp.spillW); err != nil {
		sp.log.Warn("could not write a streamed response to its temporary file; the "+
			"response is cut short (is --body-temp-dir full?)", "error", err,
			"path", sp.r.URL.Path)
		return err
	}
	sp.spillW += int64(len(p))
	return nil
}

// pending reports whether anything waits to be written or flushed; sp.mu held.
func (sp *spool) pending() bool {
	return sp.headWait || sp.file != nil || sp.mem.n > 0 || sp.spillR < sp.spillW ||
		sp.unflushed
}

// drain is the spool's goroutine: while the app runs it writes what the app sends, whenever
// the writer role is free, until finish has taken over.
func (sp *spool) drain() {
	sp.mu.Lock()
	for {
		if !sp.writing && sp.err == nil && sp.pending() {
			sp.writing = true
			sp.pump()
			sp.writing = false
			if sp.closed {
				signal(sp.idle) // finish waits for the role
			}
			continue
		}
		if sp.closed || sp.err != nil {
			break
		}
		sp.mu.Unlock()
		<-sp.wake
		sp.mu.Lock()
	}
	sp.letGo()
}

// pump writes everything waiting, flushing once it has caught up, until nothing waits or a
// write fails. sp.mu held, and the writer role; the lock is let go around each write.
func (sp *spool) pump() {
	var buf *[]byte // for reads from the spill file
	for sp.err == nil {
		switch {
		case sp.headWait:
			sp.headWait = false
			sp.mu.Unlock()
			writeHead(sp.w, sp.head, sp.headLen) // only sendHead writes them, once, before
			sp.mu.Lock()
			sp.unflushed = true
		case sp.file != nil:
			f, n := sp.file, sp.fileSend
			sp.file = nil
			sp.mu.Unlock()
			err := sendFile(sp.w, sp.r, f, n)
			f.Close()
			sp.mu.Lock()
			sp.fail(err)
			sp.unflushed = true
		case sp.mem.n > 0:
			sp.out, sp.mem = sp.mem, sp.out // the app fills the other queue meanwhile
			sp.mu.Unlock()
			err := sp.out.writeTo(sp.w)
			sp.mu.Lock()
			sp.out.reset()
			sp.fail(err)
			signal(sp.room)
			sp.unflushed = true
		case sp.spillR < sp.spillW:
			if buf == nil {
				buf = copyBufPool.Get().(*[]byte)
				defer copyBufPool.Put(buf)
			}
			b := (*buf)[:min(int64(len(*buf)), sp.spillW-sp.spillR)]
			off := sp.spillR
			sp.mu.Unlock()
			n, err := sp.spill.ReadAt(b, off)
			if err == nil {
				_, err = sp.w.Write(b[:n])
			}
			sp.mu.Lock()
			sp.spillR += int64(n)
			if sp.spillR == sp.spillW {
				sp.spillR, sp.spillW = 0, 0 // emptied: memory again, the file reused
			}
			sp.fail(err)
			signal(sp.room)
			sp.unflushed = true
		case sp.unflushed:
			sp.unflushed = false
			sp.mu.Unlock()
			err := http.NewResponseController(sp.w).Flush()
			sp.mu.Lock()
			sp.fail(err)
		default:
			return
		}
	}
	// Failed: the app's writes fail from now on (a waiting one is woken), and what waits is
	// dropped.
	sp.mem.reset()
	sp.spillR, sp.spillW, sp.unflushed = 0, 0, false
	sp.headWait = false
	signal(sp.room)
}

// fail records the first write error; sp.mu held.
func (sp *spool) fail(err error) {
	if err != nil && sp.err == nil {
		sp.err = err
	}
}

// finish is called by the handler once the app's part is over (no write comes any more):
// it takes the writer role over from the drain goroutine and writes what is left, and
// returns the write error if one failed. Nothing touches w once it returns.
func (sp *spool) finish() error {
	sp.mu.Lock()
	sp.closed = true
	for sp.writing {
		sp.mu.Unlock()
		<-sp.idle
		sp.mu.Lock()
	}
	if sp.err == nil && sp.pending() {
		sp.writing = true
		sp.pump()
		sp.writing = false
	}
	err := sp.err
	signal(sp.wake) // the goroutine, idle, sees closed and ends
	sp.letGo()
	return err
}

// letGo drops one of the spool's two users; the last one closes its files and pools it.
// sp.mu held; let go of here.
func (sp *spool) letGo() {
	sp.refs--
	last := sp.refs == 0
	sp.mu.Unlock()
	if !last {
		return
	}
	if sp.spill != nil {
		sp.spill.Close()
	}
	if sp.file != nil {
		sp.file.Close()
	}
	sp.mem.reset()
	*sp = spool{mem: sp.mem, head: sp.head[:0], wake: sp.wake, room: sp.room, idle: sp.idle}
	spoolPool.Put(sp)
}

// sendFile writes count bytes of f from its offset to w (sendfile(2) through net/http's
// ReaderFrom path).
func sendFile(w http.ResponseWriter, r *http.Request, f *os.File, count int64) error {
	if r.Method == http.MethodHead || count == 0 {
		return nil
	}
	n, err := io.Copy(w, io.LimitReader(f, count))
	if err == nil && n < count {
		err = errors.New("file_wrapper: file shorter than Content-Length")
	}
	return err
}
