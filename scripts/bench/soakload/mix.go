package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
)

// A path of testdata/soak/soak_app.py, how often the mix asks for it, and what makes its
// answer right.
type path struct {
	name   string
	weight int
	do     func(c *http.Client, base string, body []byte) error
}

// uploadSize is the POST body: 64 KiB, so that the server buffers it in memory
// (pyhost: --body-memory 1M) and the app reads it whole.
const uploadSize = 64 << 10

// streamChunks is the streamed answer read to the end: 64 chunks of 1 KiB.
const streamChunks = 64

// abandonChunks is the streamed answer a client leaves after its first KiB: 1 GiB if it were
// read, so the server is still writing when the client goes and must notice.
const abandonChunks = 1 << 20

var paths = []path{
	{"page", 30, getPage},
	{"json", 20, getJSON},
	{"stream", 10, getStream},
	{"abandon", 5, abandonStream},
	{"error", 5, getError},
	{"upload", 15, postUpload},
	{"file", 15, getFile},
}

func pathNames() string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// get fetches URL, reads the whole body and checks the status.
func get(c *http.Client, url string, want int) ([]byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the body: %w", url, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, want)
	}
	return b, nil
}

func getPage(c *http.Client, base string, _ []byte) error {
	b, err := get(c, base+"/page?who=soak", 200)
	if err == nil && !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</html>")) {
		err = fmt.Errorf("GET /page: the page does not end in </html> (%d bytes)", len(b))
	}
	return err
}

func getJSON(c *http.Client, base string, _ []byte) error {
	b, err := get(c, base+"/json", 200)
	if err != nil {
		return err
	}
	var doc struct{ OK bool }
	if err := json.Unmarshal(b, &doc); err != nil || !doc.OK {
		return fmt.Errorf("GET /json: not the app's document (%v): %.80q", err, b)
	}
	return nil
}

func getStream(c *http.Client, base string, _ []byte) error {
	b, err := get(c, fmt.Sprintf("%s/stream?n=%d", base, streamChunks), 200)
	if err == nil && len(b) != streamChunks*1024 {
		err = fmt.Errorf("GET /stream: %d bytes, want %d", len(b), streamChunks*1024)
	}
	return err
}

// abandonStream asks for a stream far too long to read, reads its first KiB and closes the
// connection (net/http's transport closes a connection whose body was not read to the end):
// a client leaving mid-stream.
func abandonStream(c *http.Client, base string, _ []byte) error {
	resp, err := c.Get(fmt.Sprintf("%s/stream?n=%d", base, abandonChunks))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET /stream (abandoned): status %d, want 200", resp.StatusCode)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		return fmt.Errorf("GET /stream (abandoned): reading the first KiB: %w", err)
	}
	return nil
}

func getError(c *http.Client, base string, _ []byte) error {
	_, err := get(c, base+"/error", 500)
	return err
}

func postUpload(c *http.Client, base string, body []byte) error {
	resp, err := c.Post(base+"/upload", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST /upload: reading the answer: %w", err)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("POST /upload: status %d, want 200", resp.StatusCode)
	}
	var got struct {
		Length int
		CRC32  uint32
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return fmt.Errorf("POST /upload: not the app's answer (%v): %.80q", err, b)
	}
	if got.Length != len(body) || got.CRC32 != crc32.ChecksumIEEE(body) {
		return fmt.Errorf("POST /upload: the app read %d bytes with CRC-32 %08x, sent %d with %08x",
			got.Length, got.CRC32, len(body), crc32.ChecksumIEEE(body))
	}
	return nil
}

func getFile(c *http.Client, base string, _ []byte) error {
	resp, err := c.Get(base + "/file")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return fmt.Errorf("GET /file: reading the body: %w", err)
	}
	if resp.StatusCode != 200 || resp.ContentLength <= 0 || n != resp.ContentLength {
		return fmt.Errorf("GET /file: status %d, %d bytes of Content-Length %d", resp.StatusCode, n, resp.ContentLength)
	}
	return nil
}
