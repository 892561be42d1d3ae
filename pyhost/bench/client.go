package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection of the load generator: it writes a request
// prepared once (request line, headers, body) and reads the response just far enough to
// know its status and where it ends (Content-Length, chunked, or close), discarding the body.
// A minimal client costs a fraction of net/http's CPU per request, which matters when the
// generator shares the machine's cores with the server it measures.
type conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
}

// errKind names why a request failed, for the report's errors by kind.
type errKind string

const (
	errConnect errKind = "connect"
	errTimeout errKind = "timeout"
	errIO      errKind = "io" // reset, closed, malformed response
	errStatus4 errKind = "status 4xx"
	errStatus5 errKind = "status 5xx"
)

// reqError is a failed request and its kind.
type reqError struct {
	kind errKind
	err  error
}

func (e *reqError) Error() string { return string(e.kind) + ": " + e.err.Error() }

func classify(kind errKind, err error) *reqError {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		kind = errTimeout
	}
	return &reqError{kind, err}
}

// do sends req and reads its response, (re)connecting first when needed. It returns the
// response status, or an error of a kind.
func (c *conn) do(req []byte) (int, *reqError) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, classify(errConnect, err)
		}
		c.c = nc
		if c.r == nil {
			c.r = bufio.NewReaderSize(nc, 32<<10)
		} else {
			c.r.Reset(nc)
		}
	}
	if c.timeout > 0 {
		c.c.SetDeadline(time.Now().Add(c.timeout))
	}
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, classify(errIO, err)
	}
	status, keep, err := readResponse(c.r)
	if err != nil {
		c.close()
		return 0, classify(errIO, err)
	}
	if !keep {
		c.close()
	}
	switch {
	case status >= 500:
		return status, &reqError{errStatus5, fmt.Errorf("status %d", status)}
	case status >= 400:
		return status, &reqError{errStatus4, fmt.Errorf("status %d", status)}
	}
	return status, nil
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// readResponse reads one response (skipping 1xx), its body discarded; keep says whether the
// connection can carry another request.
func readResponse(r *bufio.Reader) (status int, keep bool, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
			return 0, false, fmt.Errorf("malformed status line %q", line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return 0, false, fmt.Errorf("malformed status line %q", line)
		}
		keep = line[7] == '1'
		length, chunked := int64(-1), false
		for {
			h, err := r.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			h = bytes.TrimRight(h, "\r\n")
			if len(h) == 0 {
				break
			}
			name, value, ok := bytes.Cut(h, []byte(":"))
			if !ok {
				continue
			}
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("content-length")):
				length, err = strconv.ParseInt(string(value), 10, 64)
				if err != nil {
					return 0, false, fmt.Errorf("malformed Content-Length %q", value)
				}
			case bytes.EqualFold(name, []byte("transfer-encoding")):
				chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
			case bytes.EqualFold(name, []byte("connection")):
				v := bytes.ToLower(value)
				if bytes.Contains(v, []byte("close")) {
					keep = false
				} else if bytes.Contains(v, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		if status >= 100 && status < 200 {
			continue
		}
		switch {
		case status == 204 || status == 304:
		case chunked:
			err = skipChunked(r)
		case length >= 0:
			_, err = r.Discard(int(length))
		default: // until the connection closes
			_, err = io.Copy(io.Discard, r)
			keep = false
		}
		return status, keep, err
	}
}

func skipChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(sz)), 16, 64)
		if err != nil {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 { // trailers up to the empty line
			for {
				t, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// buildRequest is the bytes of one request.
func buildRequest(method, host, path string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: pyhost-bench\r\n", method, path, host)
	if body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
