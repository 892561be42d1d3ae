package wsgi

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// chunkedSource hands out data in pieces whose sizes come from sizes (cycled), the way a
// network connection delivers a body in arbitrary reads; a zero size is a read of 0 bytes.
type chunkedSource struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkedSource) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// checkBody fills a buffer from data cut at the given boundaries and reads it back in reads
// of readSize: it must give back exactly data, or ErrBodyTooLarge when data passes limit.
func checkBody(t *testing.T, data, sizes []byte, declared bool, memory, limit int64, readSize int) {
	t.Helper()
	var b bodyBuffer
	defer b.release()
	expect := int64(-1)
	if declared {
		expect = int64(len(data))
	}
	err := b.fill(&chunkedSource{data: data, sizes: sizes}, expect, memory, limit, "")
	tooLarge := limit > 0 && int64(len(data)) > limit
	if tooLarge {
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("%d bytes over a %d limit: %v, want ErrBodyTooLarge", len(data), limit, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%d bytes (memory %d, limit %d): %v", len(data), memory, limit, err)
	}
	if b.Len() != int64(len(data)) {
		t.Fatalf("Len %d, want %d", b.Len(), len(data))
	}
	if spilled := b.file != nil; spilled != (int64(len(data)) > memory) {
		t.Errorf("%d bytes with a %d memory threshold: spilled to a file = %v", len(data), memory, spilled)
	}
	var got bytes.Buffer
	buf := make([]byte, max(readSize, 1))
	for {
		n, err := b.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 bytes and no error before the end")
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read back %d bytes that differ from the %d sent", got.Len(), len(data))
	}
}

func TestBodyBuffer(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320,000 bytes
	cases := []struct {
		name          string
		n             int
		sizes         []byte
		declared      bool
		memory, limit int64
	}{
		{"small declared in memory", 100, nil, true, 1 << 20, 0},
		{"small chunked in memory", 100, []byte{7, 0, 13}, false, 1 << 20, 0},
		{"exactly the threshold stays in memory", 4096, []byte{255}, false, 4096, 0},
		{"one past the threshold spills", 4097, []byte{255}, false, 4096, 0},
		{"declared larger than memory spills at once", 320000, nil, true, 1000, 0},
		{"chunked spills on the way", 320000, []byte{200, 1, 255}, false, 70000, 0},
		{"exactly the limit", 5000, []byte{99}, false, 1000, 5000},
		{"over the limit chunked", 5001, []byte{99}, false, 1000, 5000},
		{"declared over the limit", 5001, nil, true, 1000, 5000},
		{"memory threshold zero", 10, []byte{3}, false, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkBody(t, big[:c.n], c.sizes, c.declared, c.memory, c.limit, 777)
		})
	}
}

// FuzzBodyBuffer: whatever the body, the boundaries it arrives in, the memory threshold and
// the limit, the buffer gives back exactly the bytes sent or refuses them as too large.
func FuzzBodyBuffer(f *testing.F) {
	f.Add([]byte("hello"), []byte{1, 2}, false, uint16(4), uint16(0), uint16(3))
	f.Add(bytes.Repeat([]byte{0}, 5000), []byte{255, 0, 17}, true, uint16(1024), uint16(6000), uint16(100))
	f.Add(bytes.Repeat([]byte{1}, 3000), []byte{}, false, uint16(100), uint16(2999), uint16(1))
	f.Fuzz(func(t *testing.T, data, sizes []byte, declared bool, memory, limit, readSize uint16) {
		if len(sizes) > 0 && bytes.Count(sizes, []byte{0}) == len(sizes) {
			sizes = append(sizes, 1) // a source that only ever reads 0 bytes never ends
		}
		checkBody(t, data, sizes, declared, int64(memory), int64(limit), int(readSize))
	})
}
