package httpd

import (
	"bufio"
	"strings"
	"testing"
	"testing/iotest"
)

// TestPeekHead: where the fast path finds a head's end, arriving at once or a byte at a time:
// at the first CRLF CRLF, or, for a head with bare-LF line ends (which net/http reads), at
// its first empty line, so such a head is handed over at once instead of waiting for a
// CRLF CRLF that never comes.
func TestPeekHead(t *testing.T) {
	cases := []struct {
		head string
		want int // the head's length; -1: does not fit the buffer
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\n", 27},
		{"GET / HTTP/1.1\nHost: x\n\n", 24},
		{"GET / HTTP/1.0\n\n", 16},
		{"GET / HTTP/1.1\nHost: x\n\r\n", 25},
		{"GET / HTTP/1.1\r\nHost: x\r\n\n", 26},
		{"GET / HTTP/1.1\r\nHost: x\n\r\nmore", 26},
		{"GET /" + strings.Repeat("a", 5000) + " HTTP/1.1\r\n\r\n", -1},
	}
	for _, c := range cases {
		for _, oneByte := range []bool{false, true} {
			r := strings.NewReader(c.head + "\x00never read") // a head that ends is not read past
			br := bufio.NewReaderSize(r, fastHeadBuffer)
			if oneByte {
				br = bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(c.head)), fastHeadBuffer)
			}
			n, err := peekHead(br)
			if err != nil || n != c.want {
				t.Errorf("%q (a byte at a time: %v): %d, %v; want %d", c.head, oneByte, n, err, c.want)
			}
		}
	}
	// A head that never ends fails with the reader's error, not a hang or a wrong length.
	br := bufio.NewReaderSize(strings.NewReader("GET / HTTP/1.1\nHost: x\n"), fastHeadBuffer)
	if n, err := peekHead(br); err == nil {
		t.Errorf("an unfinished head: %d, no error", n)
	}
}

// BenchmarkPeekHead: finding the end of a browser-sized plain head already buffered.
func BenchmarkPeekHead(b *testing.B) {
	head := "GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: Mozilla/5.0 " +
		"(X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Encoding: " +
		"gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=abcdef0123456789\r\n\r\n"
	r := strings.NewReader(head)
	br := bufio.NewReaderSize(r, fastHeadBuffer)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(head)
		br.Reset(r)
		if n, err := peekHead(br); err != nil || n != len(head) {
			b.Fatal(n, err)
		}
	}
}
