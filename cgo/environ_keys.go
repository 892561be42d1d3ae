package cgo

/*
#include "pyh.h"
*/
import "C"

import "fmt"

// EnvironKey is an environ key the C side interns once per interpreter, so Go can send it as
// one byte instead of its name. The list lives in environ_keys.h, the one source both sides
// read: C builds its enum and name table from it, Go reads that table here at start-up.
type EnvironKey struct {
	ID     byte   // the key byte in a packed environ
	Name   string // the environ key, e.g. "HTTP_USER_AGENT"
	Header string // the canonical request header it carries, e.g. "User-Agent"; "" if none
}

// EnvironKeyCustom is the key byte that says "the key's own bytes follow" (PYH_KEY_CUSTOM).
const EnvironKeyCustom byte = C.PYH_KEY_CUSTOM

// EnvironKeys are the interned keys, in ID order.
var EnvironKeys = loadEnvironKeys()

func loadEnvironKeys() []EnvironKey {
	n := int(C.pyh_environ_key_count())
	if n >= int(EnvironKeyCustom) {
		panic(fmt.Sprintf("environ_keys.h lists %d keys; key bytes stop below %d", n,
			EnvironKeyCustom))
	}
	keys := make([]EnvironKey, n)
	for i := range keys {
		keys[i] = EnvironKey{ID: byte(i), Name: C.GoString(C.pyh_environ_key_name(C.int(i)))}
		if h := C.pyh_environ_key_header(C.int(i)); h != nil {
			keys[i].Header = C.GoString(h)
		}
	}
	return keys
}
