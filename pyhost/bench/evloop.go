package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The generator's connections are driven by event loops in the manner of wrk: each loop is
// one locked OS thread with its own epoll set over non-blocking sockets, so a response is
// read the moment it arrives, without a goroutine wake-up per request (which made the Go
// scheduler's latency, not the server, the limit of a closed loop on a fast app).

// shared is what every loop of a phase reads and counts.
type shared struct {
	ctx      context.Context
	ticket   atomic.Int64
	done     atomic.Uint64
	start    time.Time
	deadline time.Time // zero: none
	interval time.Duration
	limit    int64 // requests; 0: none
	timeout  time.Duration
	reqs     [][]byte
	sa       syscall.Sockaddr
	family   int
}

type connState int

const (
	stIdle     connState = iota // needs next()
	stWaiting                   // until wake: its request is not due yet, or a pause after a connect error
	stInFlight                  // request written (or being written), response awaited
	stFinished
)

type evConn struct {
	fd     int
	state  connState
	ticket int64
	req    []byte
	wrOff  int
	sched  time.Time // when the request was due (latency counts from here)
	sent   time.Time
	wake   time.Time
	buf    []byte
	br     *bufio.Reader
	rd     *bytes.Reader
	out    bool // registered for EPOLLOUT
}

type evLoop struct {
	sh    *shared
	epfd  int
	conns []*evConn
	byFD  map[int]*evConn
	w     *worker
	rbuf  []byte
}

func resolve(addr string) (syscall.Sockaddr, int, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return sa, syscall.AF_INET, nil
	}
	sa := &syscall.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	return sa, syscall.AF_INET6, nil
}

// runLoop drives n connections to the end of the phase.
func runLoop(sh *shared, n int, w *worker) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(epfd)
	l := &evLoop{sh: sh, epfd: epfd, byFD: map[int]*evConn{}, w: w, rbuf: make([]byte, 64<<10)}
	for range n {
		c := &evConn{fd: -1, rd: bytes.NewReader(nil)}
		c.br = bufio.NewReaderSize(c.rd, 16<<10)
		l.conns = append(l.conns, c)
	}
	defer func() {
		for _, c := range l.conns {
			l.closeConn(c)
		}
	}()
	events := make([]syscall.EpollEvent, 64)
	for {
		now := time.Now()
		active, timeout := l.step(now)
		if active == 0 {
			return nil
		}
		k, err := epollWait(epfd, events, timeout)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return err
		}
		for _, ev := range events[:max(k, 0)] {
			if c := l.byFD[int(ev.Fd)]; c != nil && c.state == stInFlight {
				if ev.Events&syscall.EPOLLOUT != 0 {
					l.write(c)
				}
				if ev.Events&(syscall.EPOLLIN|syscall.EPOLLERR|syscall.EPOLLHUP) != 0 && c.state == stInFlight {
					l.read(c)
				}
			}
		}
	}
}

// step starts what can start and times out what took too long; it returns how many
// connections are not finished and how long epoll may wait (ms).
func (l *evLoop) step(now time.Time) (active int, timeoutMs int) {
	wait := 10 * time.Millisecond // wakes to notice the end of the phase or a stop
	stopped := l.sh.ctx.Err() != nil
	for _, c := range l.conns {
		if stopped && c.state != stFinished {
			l.closeConn(c)
			c.state = stFinished
		}
		if c.state == stWaiting && !now.Before(c.wake) {
			if c.ticket >= 0 {
				l.send(c, now)
			} else {
				c.state = stIdle
			}
		}
		if c.state == stIdle {
			l.next(c, now)
		}
		switch c.state {
		case stWaiting:
			wait = min(wait, c.wake.Sub(now))
		case stInFlight:
			if l.sh.timeout > 0 {
				if over := c.sent.Add(l.sh.timeout); !now.Before(over) {
					l.fail(c, errTimeout, fmt.Sprintf("no answer within %v", l.sh.timeout))
				} else {
					wait = min(wait, over.Sub(now))
				}
			}
		}
		if c.state != stFinished {
			active++
		}
	}
	// Sub-millisecond waits round up: epoll counts whole milliseconds.
	return active, int((max(wait, 0) + time.Millisecond - 1) / time.Millisecond)
}

// next takes the next request for an idle connection, or finishes it.
func (l *evLoop) next(c *evConn, now time.Time) {
	sh := l.sh
	if !sh.deadline.IsZero() && !now.Before(sh.deadline) {
		c.state = stFinished
		return
	}
	n := sh.ticket.Add(1) - 1
	if sh.limit > 0 && n >= sh.limit {
		c.state = stFinished
		return
	}
	c.ticket, c.req = n, sh.reqs[n%int64(len(sh.reqs))]
	if sh.interval > 0 {
		c.sched = sh.start.Add(time.Duration(n) * sh.interval)
		if !sh.deadline.IsZero() && c.sched.After(sh.deadline) {
			c.state = stFinished
			return
		}
		if c.sched.After(now) {
			c.state, c.wake = stWaiting, c.sched
			return
		}
	} else {
		c.sched = now
	}
	l.send(c, now)
}

func (l *evLoop) send(c *evConn, now time.Time) {
	if c.fd < 0 {
		if err := l.connect(c); err != nil {
			l.w.errs[errConnect]++
			l.w.lastError[errConnect] = err.Error()
			l.sh.done.Add(1)
			// A pause, not a busy loop on a dead server; the ticket is spent.
			c.state, c.ticket, c.wake = stWaiting, -1, now.Add(10*time.Millisecond)
			return
		}
	}
	c.state, c.wrOff, c.sent, c.buf = stInFlight, 0, now, c.buf[:0]
	l.write(c)
}

func (l *evLoop) connect(c *evConn) error {
	fd, err := syscall.Socket(l.sh.family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := syscall.Connect(fd, l.sh.sa); err != nil { // blocking: loopback answers at once
		syscall.Close(fd)
		return fmt.Errorf("connect: %w", err)
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	syscall.SetNonblock(fd, true)
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd,
		&syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
		syscall.Close(fd)
		return err
	}
	c.fd, c.out = fd, false
	l.byFD[fd] = c
	return nil
}

func (l *evLoop) closeConn(c *evConn) {
	if c.fd >= 0 {
		delete(l.byFD, c.fd)
		syscall.Close(c.fd) // also leaves the epoll set
		c.fd = -1
	}
}

func (l *evLoop) write(c *evConn) {
	for c.wrOff < len(c.req) {
		n, err := syscall.Write(c.fd, c.req[c.wrOff:])
		if errors.Is(err, syscall.EAGAIN) {
			l.watchOut(c, true)
			return
		}
		if err != nil {
			l.fail(c, errIO, "write: "+err.Error())
			return
		}
		c.wrOff += n
	}
	l.watchOut(c, false)
}

func (l *evLoop) watchOut(c *evConn, on bool) {
	if c.out == on {
		return
	}
	ev := uint32(syscall.EPOLLIN)
	if on {
		ev |= syscall.EPOLLOUT
	}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, c.fd, &syscall.EpollEvent{Events: ev, Fd: int32(c.fd)})
	c.out = on
}

func (l *evLoop) read(c *evConn) {
	eof := false
	for {
		n, err := syscall.Read(c.fd, l.rbuf)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			l.fail(c, errIO, "read: "+err.Error())
			return
		}
		if n == 0 {
			eof = true
			break
		}
		c.buf = append(c.buf, l.rbuf[:n]...)
	}
	c.rd.Reset(c.buf)
	c.br.Reset(c.rd)
	status, keep, err := readResponseFramed(c.br, eof)
	if errors.Is(err, errIncomplete) {
		if eof {
			l.fail(c, errIO, "the server closed the connection mid-response")
		}
		return
	}
	if err != nil {
		l.fail(c, errIO, err.Error())
		return
	}
	l.complete(c, status, keep && !eof, time.Now())
}

func (l *evLoop) complete(c *evConn, status int, keep bool, now time.Time) {
	w := l.w
	w.hist.record(now.Sub(c.sched))
	switch {
	case status >= 500:
		w.errs[errStatus5]++
		w.lastError[errStatus5] = fmt.Sprintf("status %d", status)
	case status >= 400:
		w.errs[errStatus4]++
		w.lastError[errStatus4] = fmt.Sprintf("status %d", status)
	default:
		w.ok++
	}
	l.sh.done.Add(1)
	if !keep {
		l.closeConn(c)
	}
	c.state = stIdle
	l.next(c, now)
}

func (l *evLoop) fail(c *evConn, kind errKind, msg string) {
	l.w.errs[kind]++
	l.w.lastError[kind] = msg
	l.sh.done.Add(1)
	l.closeConn(c)
	c.state = stIdle
}

var errIncomplete = errors.New("incomplete response")

// readResponseFramed is readResponse over what has arrived so far: errIncomplete until the
// whole response is there (a body without a length ends only at eof).
func readResponseFramed(r *bufio.Reader, eof bool) (int, bool, error) {
	status, keep, framed, err := readResponse(r)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, bufio.ErrBufferFull) {
		return 0, false, errIncomplete
	}
	if err == nil && !framed && !eof {
		return 0, false, errIncomplete
	}
	return status, keep, err
}

// epollWait is epoll_wait as a raw system call: the loop's thread keeps its P while it
// waits (the phase raises GOMAXPROCS by the number of loops for the rest of the program), so
// the runtime does not hand the P off and back around every wait, which cost more CPU per
// request than the request itself on a slow app.
func epollWait(epfd int, events []syscall.EpollEvent, msec int) (int, error) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
