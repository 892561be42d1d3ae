package wsgi

import (
	"encoding/binary"
	"net"
	"net/http"
	"strings"
)

// Key numbers shared with the C side (enum pyh_key in cgo/pyh.h): keys sent by number use the
// str objects the interpreter interned once.
const (
	kRequestMethod = iota
	kScriptName
	kPathInfo
	kQueryString
	kContentType
	kContentLength
	kServerName
	kServerPort
	kServerProtocol
	kRemoteAddr
	kRemotePort
	kURLScheme
	kRequestID
	kHTTPHost
	kHTTPUserAgent
	kHTTPAccept
	kHTTPAcceptEncoding
	kHTTPAcceptLanguage
	kHTTPConnection
	kHTTPCookie
	kHTTPReferer
	kHTTPCacheControl
	kHTTPOrigin
	kHTTPXForwardedFor
	kHTTPXRequestID
	keyCustom = 255
)

// knownHeaders maps canonical request-header names to their interned environ keys.
var knownHeaders = map[string]byte{
	"User-Agent":      kHTTPUserAgent,
	"Accept":          kHTTPAccept,
	"Accept-Encoding": kHTTPAcceptEncoding,
	"Accept-Language": kHTTPAcceptLanguage,
	"Connection":      kHTTPConnection,
	"Cookie":          kHTTPCookie,
	"Referer":         kHTTPReferer,
	"Cache-Control":   kHTTPCacheControl,
	"Origin":          kHTTPOrigin,
	"X-Forwarded-For": kHTTPXForwardedFor,
	"X-Request-Id":    kHTTPXRequestID,
}

func appendValue(b []byte, v string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendKnown(b []byte, key byte, v string) []byte {
	return appendValue(append(b, key), v)
}

// appendHeaderKey writes HTTP_<NAME> for a header name, upper-cased, '-' as '_'.
func appendHeaderKey(b []byte, name string) []byte {
	b = append(b, keyCustom)
	b = binary.LittleEndian.AppendUint16(b, uint16(5+len(name)))
	b = append(b, "HTTP_"...)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendJoined writes several header values as one, as CGI and PEP 3333 want.
func appendJoined(b []byte, values []string, sep string) []byte {
	if len(values) == 1 {
		return appendValue(b, values[0])
	}
	n := len(sep) * (len(values) - 1)
	for _, v := range values {
		n += len(v)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for i, v := range values {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, v...)
	}
	return b
}

// skipHeader drops request headers that must not reach the environ: names with '_' (after
// the '-' → '_' mapping they could impersonate another header, e.g. a proxy's X-Auth-User),
// Proxy (httpoxy: HTTP_PROXY would be read as a proxy setting by some libraries), and the
// ones CGI carries under other names.
func skipHeader(name string) bool {
	return strings.IndexByte(name, '_') >= 0 || name == "Proxy" || name == "Content-Type" ||
		name == "Content-Length"
}

// packEnviron appends r's environ in the packed form the C side reads.
func packEnviron(b []byte, r *http.Request, scriptName, requestID string) []byte {
	b = appendKnown(b, kRequestMethod, r.Method)
	b = appendKnown(b, kScriptName, scriptName)
	b = appendKnown(b, kPathInfo, strings.TrimPrefix(r.URL.Path, scriptName))
	b = appendKnown(b, kQueryString, r.URL.RawQuery)
	if ct := r.Header["Content-Type"]; len(ct) > 0 {
		b = appendKnown(b, kContentType, ct[0])
	}
	if cl := r.Header["Content-Length"]; len(cl) > 0 && r.ContentLength >= 0 {
		b = appendKnown(b, kContentLength, cl[0])
	}
	host, port := serverNameAndPort(r)
	b = appendKnown(b, kServerName, host)
	b = appendKnown(b, kServerPort, port)
	b = appendKnown(b, kServerProtocol, r.Proto)
	raddr, rport, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		raddr, rport = r.RemoteAddr, ""
	}
	b = appendKnown(b, kRemoteAddr, raddr)
	b = appendKnown(b, kRemotePort, rport)
	if r.TLS != nil {
		b = appendKnown(b, kURLScheme, "https")
	} else {
		b = appendKnown(b, kURLScheme, "http")
	}
	b = appendKnown(b, kRequestID, requestID)
	if r.Host != "" {
		b = appendKnown(b, kHTTPHost, r.Host)
	}
	for name, values := range r.Header {
		if skipHeader(name) || len(values) == 0 {
			continue
		}
		if key, ok := knownHeaders[name]; ok {
			b = append(b, key)
		} else {
			b = appendHeaderKey(b, name)
		}
		sep := ", "
		if name == "Cookie" {
			sep = "; " // RFC 6265: one Cookie header, pairs separated by "; "
		}
		b = appendJoined(b, values, sep)
	}
	if r.ContentLength < 0 && len(r.TransferEncoding) > 0 {
		b = appendHeaderKey(b, "Transfer-Encoding")
		b = appendJoined(b, r.TransferEncoding, ", ")
	}
	return b
}

// serverNameAndPort follows the Host header (as gunicorn and mod_wsgi with UseCanonicalName
// Off do; a Host without a port means the scheme's default) and falls back to the address the
// connection came in on.
func serverNameAndPort(r *http.Request) (string, string) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	lhost, lport := "", ""
	if local != nil {
		lhost, lport, _ = net.SplitHostPort(local.String())
	}
	if r.Host == "" {
		return lhost, lport
	}
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		return h, p
	}
	if r.TLS != nil {
		return strings.Trim(r.Host, "[]"), "443"
	}
	return strings.Trim(r.Host, "[]"), "80"
}
