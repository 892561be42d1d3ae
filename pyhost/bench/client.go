package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// errKind names why a request failed, for the report's errors by kind.
type errKind string

const (
	errConnect errKind = "connect"
	errTimeout errKind = "timeout"
	errIO      errKind = "io" // reset, closed, malformed response
	errStatus4 errKind = "status 4xx"
	errStatus5 errKind = "status 5xx"
)

// readResponse reads one response (skipping 1xx), its body discarded; keep says whether the
// connection can carry another request, framed whether the body had a length (or chunks)
// rather than ending with the connection.
func readResponse(r *bufio.Reader) (status int, keep, framed bool, err error) {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, false, false, err
		}
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
			return 0, false, false, fmt.Errorf("malformed status line %q", line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil {
			return 0, false, false, fmt.Errorf("malformed status line %q", line)
		}
		keep = line[7] == '1'
		length, chunked := int64(-1), false
		for {
			h, err := r.ReadSlice('\n')
			if err != nil {
				return 0, false, false, err
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
					return 0, false, false, fmt.Errorf("malformed Content-Length %q", value)
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
		framed = true
		switch {
		case status == 204 || status == 304:
		case chunked:
			err = skipChunked(r)
		case length >= 0:
			_, err = r.Discard(int(length))
		default: // until the connection closes
			_, err = io.Copy(io.Discard, r)
			keep, framed = false, false
		}
		return status, keep, framed, err
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
