package httpd

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// guardedListener hands its server connections that enforce what net/http leaves to its
// caller: a response write timeout with nginx's send_timeout meaning (no byte accepted by the
// client for that long, however long the whole response takes), a 408 and a log line when a
// client does not finish its request head in time, and a log line for every request net/http
// itself refuses (431 for an oversized head, 400 for a malformed one), which it answers
// without telling anyone.
type guardedListener struct {
	net.Listener
	writeTimeout  time.Duration
	headerTimeout time.Duration
	log           *slog.Logger
	beforeAccept  func() // nil, or run before each accept
}

// Guard wraps ln's TCP and Unix connections (others pass as they are) in the guards lim asks for (its
// WriteTimeout and HeaderTimeout); the server serving it, an *http.Server or a FastServer,
// must pass its connections' states on with NoteConnState. beforeAccept, if not nil, runs before each accept (a worker among siblings
// holds back there while it is full: ConnTracker.WaitForRoom).
func Guard(ln net.Listener, lim request.Limits, log *slog.Logger, beforeAccept func()) net.Listener {
	return &guardedListener{Listener: ln, writeTimeout: lim.WriteTimeout,
		headerTimeout: lim.HeaderTimeout, log: log, beforeAccept: beforeAccept}
}

// NoteConnState is (or is called from) the ConnState hook of a server on a Guard listener.
func NoteConnState(c net.Conn, st http.ConnState) {
	if hc, ok := c.(*handedConn); ok {
		c = hc.Conn
	}
	if gc, ok := c.(*guardedConn); ok {
		gc.connStateChanged(st)
	}
}

func (l *guardedListener) Accept() (net.Conn, error) {
	if l.beforeAccept != nil {
		l.beforeAccept()
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc, ok := c.(streamConn)
	if !ok {
		return c, nil
	}
	gc := &guardedConn{streamConn: sc, l: l}
	if _, unix := c.(*net.UnixConn); unix {
		gc.peer = unixPeer
	}
	return gc, nil
}

// streamConn is what a TCP or a Unix stream connection offers beyond net.Conn and net/http
// uses: CloseWrite for a clean close after an error. (*net.TCPConn also has ReadFrom, for
// sendfile.)
type streamConn interface {
	net.Conn
	CloseWrite() error
}

// unixPeer is the address of a client on a Unix socket, which has none (its socket is not
// bound to a path; Go names it "@"): net/http gives it as the request's RemoteAddr, so the
// app's REMOTE_ADDR is empty, as with gunicorn, and the access log writes "-".
var unixPeer net.Addr = &net.UnixAddr{Name: "", Net: "unix"}

// guardedConn is one client connection, TCP or Unix. It embeds the connection so net/http
// keeps its fast paths (CloseWrite for a clean close after an error, ReadFrom for sendfile).
type guardedConn struct {
	streamConn
	l    *guardedListener
	peer net.Addr // the client's address, if not the connection's own (unixPeer)
	// state is the http.ConnState net/http last reported; headBytes counts the bytes read
	// while waiting for a request head (New or Idle), to tell a stalled head from an idle
	// keep-alive connection when a read times out.
	state     atomic.Int32
	headBytes atomic.Int64
	// lineEnded: a line feed was read since the connection last waited for a request head,
	// so a head net/http refuses as too large was too large in its fields, not in its
	// request line.
	lineEnded atomic.Bool
	timedOut  atomic.Bool // a write timed out (logged once)
	// headTimedOut: a request head timed out and got its 408. The connection is closing,
	// but its reader may read again (net/http's parser retries, and the fast path's reader
	// and net/http's each read after a hand-off): one 408, one log line.
	headTimedOut atomic.Bool
	// deadlineSetAt is when the write deadline was last moved. Writes to one connection
	// never run concurrently (net/http serialises them), so it needs no lock.
	deadlineSetAt time.Time
}

// RemoteAddr is the client's address.
func (c *guardedConn) RemoteAddr() net.Addr {
	if c.peer != nil {
		return c.peer
	}
	return c.streamConn.RemoteAddr()
}

// connStateChanged is called from the server's ConnState hook.
func (c *guardedConn) connStateChanged(st http.ConnState) {
	if st == http.StateIdle || st == http.StateNew {
		c.headBytes.Store(0)
		c.lineEnded.Store(false)
	}
	c.state.Store(int32(st))
}

func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.streamConn.Read(p)
	got, waiting := c.noteHeadBytes(p[:n])
	if !waiting {
		return n, err
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if got == 0 {
			c.l.log.Debug("closed an idle connection", "remote", c.RemoteAddr().String(),
				"state", http.ConnState(c.state.Load()).String())
			return n, err
		}
		if !c.headTimedOut.CompareAndSwap(false, true) {
			return n, err
		}
		c.l.log.Warn("request refused: the client did not finish its request head within "+
			"--header-timeout; connection closed", "status", http.StatusRequestTimeout,
			"remote", c.RemoteAddr().String(), "head_bytes", got,
			"timeout", c.l.headerTimeout.String())
		// net/http closes such a connection without a word; a client that is merely slow
		// deserves to know why (as Apache's mod_reqtimeout tells it). Nothing else is being
		// written on this connection while its head is read.
		_ = c.streamConn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.streamConn.Write([]byte(requestTimeoutResponse))
	}
	return n, err
}

// noteHeadBytes counts p as read from the connection while it waits for a request head
// (also bytes the fast path read before it handed the connection to net/http: fastconn.go);
// it returns the head bytes so far, and whether the connection waits for a head at all.
func (c *guardedConn) noteHeadBytes(p []byte) (int64, bool) {
	st := http.ConnState(c.state.Load())
	if st != http.StateNew && st != http.StateIdle {
		return 0, false
	}
	got := c.headBytes.Add(int64(len(p)))
	if !c.lineEnded.Load() && bytes.IndexByte(p, '\n') >= 0 {
		c.lineEnded.Store(true)
	}
	return got, true
}

const requestTimeoutResponse = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; " +
	"charset=utf-8\r\nContent-Length: 20\r\nConnection: close\r\n\r\n408 Request Timeout\n"

func (c *guardedConn) Write(p []byte) (int, error) {
	if c.l.writeTimeout > 0 {
		c.moveWriteDeadline()
	}
	if len(p) > 12 && len(p) < 1024 && (p[9] == '4' || p[9] == '5') &&
		bytes.HasPrefix(p, []byte("HTTP/1.1 ")) && !bytes.Contains(p, []byte("\r\nDate: ")) &&
		bytes.Contains(p, []byte("\r\nConnection: close\r\n\r\n")) {
		if c.parserRefused(p) {
			// The refusal is for a request line with no end in sight: say 414, as a
			// shorter overlong line gets from wsgi's checkHead, not net/http's 431.
			if _, err := c.streamConn.Write([]byte(uriTooLongResponse)); err != nil {
				c.writeFailed(err)
				return 0, err
			}
			return len(p), nil
		}
	}
	n, err := c.streamConn.Write(p)
	if err != nil {
		c.writeFailed(err)
	}
	return n, err
}

const uriTooLongResponse = "HTTP/1.1 414 URI Too Long\r\nContent-Type: text/plain; " +
	"charset=utf-8\r\nContent-Length: 17\r\nConnection: close\r\n\r\n414 URI Too Long\n"

// moveWriteDeadline gives the next write --write-timeout from now. Setting a deadline costs a
// runtime timer update (about a tenth of a hello-world request's throughput when done on every
// write), so it is only moved once an eighth of the timeout has passed since it was last set:
// a blocked write then fails after between 7/8 of the timeout and all of it.
func (c *guardedConn) moveWriteDeadline() {
	now := time.Now()
	if now.Sub(c.deadlineSetAt) < c.l.writeTimeout/8 {
		return
	}
	c.deadlineSetAt = now
	_ = c.streamConn.SetWriteDeadline(now.Add(c.l.writeTimeout))
}

// parserRefused logs a response net/http wrote by itself for a request it could not parse:
// it writes those in one short piece, straight to the connection, ending its head with
// "Connection: close" and without the Date header that every response through a handler has
// (a handler's head split by a full write buffer would lack Date too, but not end there).
// It reports whether the refusal is net/http's 431 for a head whose request line never ended,
// which the caller answers with 414 instead.
func (c *guardedConn) parserRefused(p []byte) (lineTooLong bool) {
	status, _, _ := bytes.Cut(p[len("HTTP/1.1 "):], []byte("\r\n"))
	advice := "the request was malformed"
	if bytes.HasPrefix(status, []byte("431")) {
		if !c.lineEnded.Load() {
			c.l.log.Warn("request refused: request line too long (longer than "+
				"--max-header-bytes + 4 KiB, where the HTTP parser stops reading); raise "+
				"--max-request-line and --max-header-bytes if the app needs such URLs",
				"status", http.StatusRequestURITooLong, "remote", c.RemoteAddr().String(),
				"bytes_read", c.headBytes.Load())
			return true
		}
		advice = "the request head was larger than --max-header-bytes; raise it if clients " +
			"legitimately send more"
	}
	c.l.log.Warn("request refused by the HTTP parser: "+advice, "response", string(status),
		"remote", c.RemoteAddr().String())
	return false
}

func (c *guardedConn) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) && c.timedOut.CompareAndSwap(false, true) {
		c.l.log.Warn("response write timed out: the client accepted no byte within "+
			"--write-timeout; connection closed", "remote", c.RemoteAddr().String(),
			"timeout", c.l.writeTimeout.String())
	}
}

// sendfileStep is how much one sendfile may send under one write deadline, so that the
// timeout means "no progress", not "the whole file".
const sendfileStep = 4 << 20

// ReadFrom keeps net/http's sendfile path (a file behind an io.LimitedReader) and moves the
// write deadline along every step of it.
func (c *guardedConn) ReadFrom(r io.Reader) (int64, error) {
	rf, sendfile := c.streamConn.(io.ReaderFrom)
	if !sendfile {
		return io.Copy(struct{ io.Writer }{c}, r) // a Unix socket: plain writes
	}
	if c.l.writeTimeout <= 0 {
		return rf.ReadFrom(r)
	}
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return io.Copy(struct{ io.Writer }{c}, r) // plain writes, each under the deadline
	}
	var total int64
	for lr.N > 0 {
		step := min(lr.N, sendfileStep)
		c.moveWriteDeadline()
		n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: step})
		lr.N -= n
		total += n
		if err != nil {
			c.writeFailed(err)
			return total, err
		}
		if n < step {
			break // the file ended
		}
	}
	return total, nil
}
