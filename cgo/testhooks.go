package cgo

// Test hooks: entry points for pyhost's own tests and fuzz targets (test files cannot use
// cgo), never called by the server. They run the real C code — the environ decoder and
// start_response's checks — in one call each, without an HTTP request around it.

/*
#include "pyh.h"
char *pyh_test_decode_environ(pyh_interp *in, const char *packed, size_t len, size_t *out_len,
                              Py_ssize_t *size, char **err);
char *pyh_test_start_response(pyh_interp *in, const char *fields, size_t len, int nheaders,
                              int utf8, size_t *out_len, char **err);
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// DecodeEnvironForTest builds the WSGI environ from a packed buffer exactly as a request
// would, in interpreter in (prepared). It returns the environ's str items, converted back to
// bytes by latin-1, and the dict's size (those items plus the constant wsgi.* entries), or
// the Python exception's text.
func (in *Interp) DecodeEnvironForTest(packed []byte) (items map[string]string, size int, err error) {
	var n C.size_t
	var sz C.Py_ssize_t
	var cerr *C.char
	out := C.pyh_test_decode_environ(in.c, bytesPtr(packed), C.size_t(len(packed)), &n, &sz,
		&cerr)
	if out == nil {
		return nil, 0, fmt.Errorf("%s", takeCString(cerr))
	}
	defer C.pyh_free(unsafe.Pointer(out))
	flat := C.GoBytes(unsafe.Pointer(out), C.int(n))
	items = map[string]string{}
	for len(flat) > 0 {
		var k, v string
		k, flat = takeField(flat)
		v, flat = takeField(flat)
		items[k] = v
	}
	return items, int(sz), nil
}

// StartResponseForTest calls a real start_response(status, headers) in interpreter in
// (prepared), with every string made from the given bytes by latin-1 — or by UTF-8 with bad
// bytes replaced when utf8 is set, which reaches the "not latin-1" checks. It returns the
// packed head ("status\0name\0value\0...") that Go would write, or the exception's text.
func (in *Interp) StartResponseForTest(status string, headers [][2]string, utf8 bool) ([]byte, error) {
	fields := binary.LittleEndian.AppendUint32(nil, uint32(len(status)))
	fields = append(fields, status...)
	for _, h := range headers {
		for _, s := range h {
			fields = binary.LittleEndian.AppendUint32(fields, uint32(len(s)))
			fields = append(fields, s...)
		}
	}
	var n C.size_t
	var cerr *C.char
	out := C.pyh_test_start_response(in.c, bytesPtr(fields), C.size_t(len(fields)),
		C.int(len(headers)), cBool(utf8), &n, &cerr)
	if out == nil {
		return nil, fmt.Errorf("%s", takeCString(cerr))
	}
	defer C.pyh_free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

// takeField splits a 4-byte length and that many bytes off the front of b (C wrote both).
func takeField(b []byte) (string, []byte) {
	n := binary.LittleEndian.Uint32(b)
	return string(b[4 : 4+n]), b[4+n:]
}

func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}
