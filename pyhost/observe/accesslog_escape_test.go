package observe

import (
	"encoding/json"
	"strconv"
	"testing"
)

var awkwardValues = []string{"", "plain", `quote " backslash \ end`, "tab\tnew\nline\r\x00\x1f\x7f",
	"é ü 日本 🙂", "bad \xff\xfe utf-8 \xc3", "</script>&", "\u2028\u2029"}

// The JSON form decodes to what encoding/json would give for the same text (invalid UTF-8
// becoming U+FFFD byte by byte).
func TestAccessLogJSONEscaping(t *testing.T) {
	for _, s := range awkwardValues {
		var got, want map[string]string
		line := append(appendJSONField([]byte(`{"a":"b"`), "v", s), '}')
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, line, err)
		}
		ref, _ := json.Marshal(map[string]string{"v": s})
		_ = json.Unmarshal(ref, &want)
		if got["v"] != want["v"] {
			t.Errorf("%q: decoded %q, want %q", s, got["v"], want["v"])
		}
	}
}

// The combined form's quoted values are printable ASCII without a bare quote, and undo to the
// original bytes.
func TestAccessLogCombinedEscaping(t *testing.T) {
	for _, s := range awkwardValues {
		out := string(appendEscaped(nil, s))
		for i := 0; i < len(out); i++ {
			c := out[i]
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("%q escaped to %q: byte %#x left as is", s, out, c)
			}
			if c == '"' && (i == 0 || out[i-1] != '\\') {
				t.Fatalf("%q escaped to %q: a bare quote", s, out)
			}
		}
		var back []byte
		for i := 0; i < len(out); i++ {
			if out[i] == '\\' && out[i+1] == 'x' {
				n, _ := strconv.ParseUint(out[i+2:i+4], 16, 8)
				back = append(back, byte(n))
				i += 3
			} else if out[i] == '\\' {
				back = append(back, out[i+1])
				i++
			} else {
				back = append(back, out[i])
			}
		}
		if string(back) != s {
			t.Errorf("%q escaped to %q, which undoes to %q", s, out, back)
		}
	}
}
