package cgo

import "testing"

// crash.c's handler sits in front of Go's for SIGSEGV once Python has started: a nil
// dereference in Go code (no Python thread state on the thread) must still reach Go's handler
// as a fault, and so stay a panic that recover() catches, not a crash.
func TestNilDereferenceInGoStaysAPanic(t *testing.T) {
	var p *[64]byte
	recovered := func() (r any) {
		defer func() { r = recover() }()
		return p[7]
	}()
	if recovered == nil {
		t.Fatal("reading through a nil pointer did not panic")
	}
}
