package wsgi

import (
	"errors"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"unsafe"
)

// hugeString is a string of n zero bytes backed by reserved, never-touched address space, so
// lengths past 4 GiB can be tested without 4 GiB of memory.
func hugeString(t *testing.T, n int) string {
	t.Helper()
	if unsafe.Sizeof(0) < 8 {
		t.Skip("needs a 64-bit address space")
	}
	m, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skipf("cannot reserve %d bytes of address space: %v", n, err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(m) })
	return unsafe.String(&m[0], n)
}

// A field past the packed format's 32-bit lengths is refused, never wrapped: a wrapped
// length would make the C side read the rest of the field as keys and values of its own.
func TestAppendEnvironRefusesFieldsOver4GiB(t *testing.T) {
	huge := hugeString(t, maxPackedField+1)
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/"}, Proto: "HTTP/1.1",
		RemoteAddr: "192.0.2.1:1234", Header: http.Header{"X-Big": {huge}}}
	_, err := appendEnviron(nil, r, "", "id")
	var tooLarge *FieldTooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.Len != maxPackedField+1 {
		t.Fatalf("header value of 4 GiB + 1: err = %v, want a FieldTooLargeError", err)
	}

	// A name is carried as "HTTP_" + name: 5 bytes short of the limit is already too long.
	p := packer{}
	p.headerKey(huge[:maxPackedField-4])
	if !errors.As(p.err, &tooLarge) || len(p.b) != 0 {
		t.Fatalf("header name of 4 GiB - 4: err = %v, %d bytes packed; want a refusal", p.err, len(p.b))
	}
	// The limit itself still fits (packing 4 GiB to prove it would take minutes and memory).
	if p := (packer{}); p.tooLarge("x", maxPackedField) || p.err != nil {
		t.Fatalf("a field of exactly 2^32-1 bytes is refused: %v", p.err)
	}

	defer func() {
		if err, _ := recover().(error); !errors.As(err, &tooLarge) {
			t.Fatal("packEnviron did not panic with a FieldTooLargeError")
		}
	}()
	packEnviron(nil, r, "", "id")
}

// BenchmarkPackEnviron measures packing alone (no Python): a browser-like request.
func BenchmarkPackEnviron(b *testing.B) {
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/app/page", RawQuery: "q=1"},
		Proto: "HTTP/1.1", Host: "example.test", RemoteAddr: "192.0.2.1:1234",
		Header: http.Header{
			"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"},
			"Accept":          {"text/html,application/xhtml+xml"},
			"Accept-Language": {"en-GB,en;q=0.5"},
			"Accept-Encoding": {"gzip, deflate, br"},
			"Cookie":          {"session=abc123", "theme=dark"},
			"Sec-Fetch-Mode":  {"navigate"},
			"Sec-Fetch-Site":  {"none"},
			"Dnt":             {"1"},
		}}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = packEnviron(buf[:0], r, "/app", "id-1")
	}
}
