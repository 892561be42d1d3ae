package cgo

// The environ decoder (environ.c) against malformed buffers: whatever bytes it is given, it
// returns a dict or raises SystemError, and never reads past the buffer's end.

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testRuntime and testInterp (the main interpreter, prepared) serve every test of the package.
var (
	testRuntime *Runtime
	testInterp  *Interp
)

func TestMain(m *testing.M) {
	rt, err := Initialize(Config{ProgramName: os.Args[0], EnableGIL: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Python:", err)
		os.Exit(1)
	}
	if err := rt.Prepare(rt.Main(), true, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRuntime, testInterp = rt, rt.Main()
	code := m.Run()
	if err := rt.Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, "finalising Python:", err)
		code = 1
	}
	os.Exit(code)
}

// referenceDecode is the packed-environ format read by the letter, in Go: the dict the C
// decoder must build, or ok=false where it must refuse.
func referenceDecode(b []byte) (env map[string]string, ok bool) {
	env = map[string]string{}
	field := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	for len(b) > 0 {
		id := b[0]
		b = b[1:]
		var key string
		switch {
		case id == EnvironKeyCustom:
			k, ok := field()
			if !ok {
				return nil, false
			}
			key = k
		case int(id) < len(EnvironKeys):
			key = EnvironKeys[id].Name
		default:
			return nil, false
		}
		v, ok := field()
		if !ok {
			return nil, false
		}
		env[key] = v
	}
	return env, true
}

// templateSize is how many constant wsgi.* entries every environ starts with.
func templateSize(t testing.TB) int {
	items, size, err := testInterp.DecodeEnvironForTest(nil)
	if err != nil || len(items) != 0 {
		t.Fatalf("empty packed environ: items %v, err %v", items, err)
	}
	return size
}

// checkDecode feeds b to the C decoder and compares with referenceDecode.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	got, size, err := testInterp.DecodeEnvironForTest(b)
	want, ok := referenceDecode(b)
	if !ok {
		if err == nil {
			t.Fatalf("decoder accepted a malformed buffer (%d bytes) as %d items", len(b), len(got))
		}
		if !strings.Contains(err.Error(), "SystemError") {
			t.Fatalf("malformed buffer: want SystemError, got %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("decoder refused a well-formed buffer (%d bytes): %v", len(b), err)
	}
	if len(got) != len(want) || size != templateSize(t)+len(want) {
		t.Fatalf("decoded %d str items (dict size %d), want %d", len(got), size, len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Fatalf("environ[%.40q] = %.40q (present %v), want %.40q", k, g, ok, v)
		}
	}
}

// packed builds a buffer field by field: a byte is a key id, a string a length and its bytes.
func packed(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case string:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
			b = append(b, p...)
		case []byte: // raw bytes: lengths that lie
			b = append(b, p...)
		}
	}
	return b
}

func u32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

// decodeSeeds are well-formed and malformed buffers, the fuzz target's starting points too.
func decodeSeeds() map[string][]byte {
	long := "HTTP_X_" + strings.Repeat("A", 65531)
	return map[string][]byte{
		"empty":                 nil,
		"known key":             packed(byte(0), "GET"),
		"custom key":            packed(EnvironKeyCustom, "HTTP_X_ONE", "1", byte(2), "/p"),
		"key of 64 KiB+":        packed(EnvironKeyCustom, long, "v"),
		"latin-1 bytes":         packed(EnvironKeyCustom, "HTTP_\xff\x00\x80", "caf\xe9\x00"),
		"repeated key":          packed(byte(0), "GET", byte(0), "POST"),
		"bad key id":            packed(byte(len(EnvironKeys)), "x"),
		"key id only":           {0},
		"short value length":    packed(byte(0), []byte{3, 0}),
		"value past the end":    packed(byte(0), u32(4), []byte("abc")),
		"value length ~0":       packed(byte(0), u32(0xffffffff), []byte("abc")),
		"custom key past end":   packed(EnvironKeyCustom, u32(100), []byte("HTTP_X")),
		"custom key length ~0":  packed(EnvironKeyCustom, u32(0xffffffff)),
		"custom key, no value":  packed(EnvironKeyCustom, "HTTP_X"),
		"16-bit length (wraps)": packed(EnvironKeyCustom, []byte{0, 0}, []byte(long), "v"),
	}
}

func TestEnvironDecodeMalformed(t *testing.T) {
	for name, b := range decodeSeeds() {
		t.Run(name, func(t *testing.T) { checkDecode(t, b) })
	}
}

// FuzzEnvironDecode: the C decoder given any bytes builds exactly the dict the format says, or
// raises SystemError; a crash or an out-of-bounds read (under -asan, or a SIGSEGV) fails it.
func FuzzEnvironDecode(f *testing.F) {
	for _, b := range decodeSeeds() {
		f.Add(b)
	}
	f.Fuzz(checkDecode)
}

// The key list has one source (environ_keys.h); a header key must be the CGI name of its
// header, or the app would see it under a name other than the one a custom key would give.
func TestEnvironKeysMatchTheirHeaders(t *testing.T) {
	if len(EnvironKeys) == 0 {
		t.Fatal("no interned environ keys")
	}
	seen := map[string]bool{}
	for i, k := range EnvironKeys {
		if int(k.ID) != i || k.Name == "" || seen[k.Name] {
			t.Errorf("key %d: %+v (duplicate: %v)", i, k, seen[k.Name])
		}
		seen[k.Name] = true
		if k.Header != "" {
			want := "HTTP_" + strings.ToUpper(strings.ReplaceAll(k.Header, "-", "_"))
			if k.Name != want {
				t.Errorf("key %d carries header %s as %s, want %s", i, k.Header, k.Name, want)
			}
		}
	}
}

// noIO is a request with no body whose response the test reads from the Call.
type noIO struct{}

func (noIO) ReadBody([]byte) (int, error)               { return 0, nil }
func (noIO) Send(_, _ []byte) error                     { return nil }
func (noIO) SendFile([]byte, int, int64) (int64, error) { return 0, ErrNotRegularFile }

// A malformed packed environ reaching a real request ends it as Failed (the handler's 500)
// with a SystemError that says what was wrong, before the app runs.
func TestServeMalformedEnvironFails(t *testing.T) {
	hello, _ := filepath.Abs(filepath.Join("..", "testdata", "hello.py"))
	app, err := testRuntime.LoadApp(testInterp, AppSpec{Target: hello})
	if err != nil {
		t.Fatal(err)
	}
	rio := NewIO(noIO{})
	c := NewCall()
	for name, b := range decodeSeeds() {
		if _, ok := referenceDecode(b); ok {
			continue
		}
		testInterp.Serve(c, app, b, false, rio)
		if c.Outcome() != Failed || !strings.Contains(c.Err(), "SystemError: pyhost: malformed") {
			t.Errorf("%s: outcome %d, error %q; want Failed with a SystemError", name, c.Outcome(), c.Err())
		}
		c.Release()
	}
	// The same request with a well-formed environ is served.
	testInterp.Serve(c, app, packed(byte(0), "GET"), false, rio)
	if c.Outcome() != Respond || string(c.Body()) != "Hello, World!\n" {
		t.Errorf("well-formed environ: outcome %d, body %q, error %q", c.Outcome(), c.Body(), c.Err())
	}
	c.Release()
}
