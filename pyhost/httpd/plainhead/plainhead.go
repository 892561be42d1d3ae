// Package plainhead tells the request heads pyhost's HTTP/1 fast path answers itself from
// those it leaves to net/http, and makes the request a plain head stands for.
package plainhead

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// Is reports whether a request head (through its blank line) is one the fast path
// answers itself: "METHOD /path HTTP/1.x", header fields that are well-formed tokens with
// clean values, one plain Host (HTTP/1.1 needs it), and nothing that makes the request more
// than a head — no body (a Content-Length other than 0, Transfer-Encoding), no Expect, no
// Upgrade or HTTP2-Settings, no Trailer. Everything else goes to net/http, which answers or refuses it
// as it always has, so this check may be stricter than HTTP but never looser than net/http:
// every byte it lets through is one net/http accepts with the same meaning.
func Is(head []byte) bool {
	line, rest, ok := cutCRLF(head)
	if !ok {
		return false
	}
	method, line, ok := bytes.Cut(line, []byte{' '})
	if !ok || !plainMethod(method) {
		return false
	}
	target, proto, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(target) == 0 || target[0] != '/' || !plainTarget(target) {
		return false
	}
	http11 := string(proto) == "HTTP/1.1"
	if !http11 && string(proto) != "HTTP/1.0" {
		return false
	}
	hosts, lengths := 0, 0
	for {
		var field []byte
		if field, rest, ok = cutCRLF(rest); !ok {
			return false
		}
		if len(field) == 0 {
			break // the blank line
		}
		name, value, ok := bytes.Cut(field, []byte{':'})
		if !ok || !FieldName(name) || !plainFieldValue(value) {
			return false
		}
		switch {
		case asciiEqualFold(name, "host"):
			hosts++
			if !plainHost(bytes.Trim(value, " \t")) {
				return false
			}
		case asciiEqualFold(name, "content-length"):
			// One, and 0: a repeated one net/http may take (when they agree) or refuse.
			if lengths++; lengths > 1 || string(bytes.Trim(value, " \t")) != "0" {
				return false
			}
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "expect"),
			asciiEqualFold(name, "upgrade"), asciiEqualFold(name, "http2-settings"),
			asciiEqualFold(name, "trailer"):
			return false
		}
	}
	return len(rest) == 0 && (hosts == 1 || !http11 && hosts == 0)
}

// cutCRLF splits off one line ending in CRLF; a bare CR or LF inside it fails the checks of
// its parts (neither is allowed in a token or a field value).
func cutCRLF(b []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return b[:i], b[i+2:], true
}

// plainMethod: a token of upper-case letters, not CONNECT (its target is an authority) nor
// PRI (the HTTP/2 preface).
func plainMethod(m []byte) bool {
	if len(m) == 0 || len(m) > 20 || string(m) == "CONNECT" || string(m) == "PRI" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// plainTarget: visible ASCII only (an origin-form path and query).
func plainTarget(t []byte) bool {
	for _, c := range t {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// FieldName reports whether n is an RFC 9110 token, as a field name must be.
func FieldName(n []byte) bool {
	if len(n) == 0 {
		return false
	}
	for _, c := range n {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

func isTokenByte(c byte) bool { return tokenBytes[c] }

// tokenBytes marks the bytes of an RFC 9110 token (tchar).
var tokenBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// plainFieldValue: no control characters but horizontal tab (so no CR, LF or NUL).
func plainFieldValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// plainHost: a host name, an IPv4 or bracketed IPv6 address, and an optional port, in the
// characters those use.
func plainHost(h []byte) bool {
	if len(h) == 0 || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	return true
}

// asciiEqualFold compares b with lower, a lower-case ASCII name.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Request makes the request a plain head (Is is true of it) stands for, as
// http.ReadRequest would, on a copy of tmpl (the connection's: its context and remote address).
// Every string in it shares one copy of the head. It fails only where the target is not a
// valid request URI, which net/http then refuses.
func Request(headBytes []byte, tmpl *http.Request) (*http.Request, error) {
	head := string(headBytes)
	line, rest, _ := strings.Cut(head, "\r\n")
	method, line, _ := strings.Cut(line, " ")
	target, proto, _ := strings.Cut(line, " ")
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	req := new(http.Request)
	*req = *tmpl
	req.Method, req.URL, req.RequestURI, req.Proto = method, u, target, proto
	req.ProtoMajor, req.ProtoMinor = 1, 1
	if proto == "HTTP/1.0" {
		req.ProtoMinor = 0
	}
	req.Body = http.NoBody
	// One backing array for the values, as textproto does: a field takes one []string each.
	values := make([]string, strings.Count(rest, "\r\n"))
	req.Header = make(http.Header, len(values))
	for i := 0; ; i++ {
		var field string
		field, rest, _ = strings.Cut(rest, "\r\n")
		if field == "" {
			break
		}
		name, value, _ := strings.Cut(field, ":")
		value = strings.Trim(value, " \t")
		key := canonicalFieldName(name)
		if key == "Host" {
			req.Host = value // http.ReadRequest keeps it here, not in the header map
			continue
		}
		if vv, ok := req.Header[key]; ok {
			req.Header[key] = append(vv, value)
			continue
		}
		values[i] = value
		req.Header[key] = values[i : i+1 : i+1]
	}
	// As net/http: "Pragma: no-cache" alone means Cache-Control: no-cache (RFC 7234 §5.4).
	if p := req.Header["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := req.Header["Cache-Control"]; !ok {
			req.Header["Cache-Control"] = []string{"no-cache"}
		}
	}
	conn := req.Header["Connection"]
	if req.ProtoMinor == 0 {
		req.Close = hasToken(conn, "close") || !hasToken(conn, "keep-alive")
	} else {
		req.Close = hasToken(conn, "close")
	}
	return req, nil
}

// hasToken reports whether a comma-separated field's values name token (any case).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(part, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// canonicalFieldName is textproto.CanonicalMIMEHeaderKey, without an allocation for the
// names most requests carry.
func canonicalFieldName(name string) string {
	if c, ok := commonRequestFields[name]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

var commonRequestFields = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{"Host", "User-Agent", "Accept", "Accept-Encoding",
		"Accept-Language", "Connection", "Cookie", "Referer", "Cache-Control", "Pragma",
		"Upgrade-Insecure-Requests", "If-None-Match", "If-Modified-Since", "Authorization",
		"Content-Length", "Origin", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id",
		"X-Real-Ip", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User",
		"Dnt", "Priority", "Range", "Keep-Alive"} {
		m[f] = f
		m[strings.ToLower(f)] = f
	}
	return m
}()
