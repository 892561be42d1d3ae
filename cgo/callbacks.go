package cgo

/*
#include <stdint.h>
#include <stddef.h>
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// Crossing counters: Go→C calls (one per request) and C→Go callbacks (body reads, streamed
// chunks, sendfile). Their ratio to requests is the hot path's crossing cost.
var (
	callsIn   atomic.Uint64
	callbacks atomic.Uint64
)

// Crossings returns how many Go→C request calls and C→Go callbacks have happened.
func Crossings() (calls, back uint64) { return callsIn.Load(), callbacks.Load() }

// RequestIO is the Go side of a request, which the C side calls back into while the app runs.
// Every call comes with the thread state detached, so it may block.
type RequestIO interface {
	// ReadBody reads request-body bytes; 0, io.EOF at the end.
	ReadBody(p []byte) (int, error)
	// Send writes head (the packed status and headers, when not yet sent; nil after) and then a
	// body chunk, and sees that it is flushed without waiting for the next one: PEP 3333
	// forbids holding back a chunk the app produced. It may return before the client has the
	// chunk (a buffer between the app and a slow client); an error means the response cannot
	// go on (the client went away).
	Send(head, chunk []byte) error
	// SendFile writes head and then the file from offset to its end (or the app's
	// Content-Length). It returns ErrNotRegularFile, having sent nothing, for what it cannot send.
	SendFile(head []byte, fd int, offset int64) (int64, error)
}

// ErrNotRegularFile tells the C side to iterate a file_wrapper instead of sending the file.
var ErrNotRegularFile = errors.New("not a regular file")

func bytesOf(p *C.char, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export pyhostRead
func pyhostRead(h C.uintptr_t, buf *C.char, n C.size_t) C.int64_t {
	callbacks.Add(1)
	rio := cgo.Handle(h).Value().(RequestIO)
	got, err := rio.ReadBody(bytesOf(buf, n))
	if got > 0 {
		return C.int64_t(got)
	}
	if err != nil && !isEOF(err) {
		return -1
	}
	return 0
}

//export pyhostSend
func pyhostSend(h C.uintptr_t, head *C.char, headLen C.size_t, body *C.char, bodyLen C.size_t) C.int {
	callbacks.Add(1)
	rio := cgo.Handle(h).Value().(RequestIO)
	if rio.Send(bytesOf(head, headLen), bytesOf(body, bodyLen)) != nil {
		return -1
	}
	return 0
}

//export pyhostSendFile
func pyhostSendFile(h C.uintptr_t, head *C.char, headLen C.size_t, fd C.int, offset C.int64_t) C.int64_t {
	callbacks.Add(1)
	rio := cgo.Handle(h).Value().(RequestIO)
	n, err := rio.SendFile(bytesOf(head, headLen), int(fd), int64(offset))
	switch {
	case errors.Is(err, ErrNotRegularFile):
		return -2
	case err != nil:
		return -1
	}
	return C.int64_t(n)
}
