package wsgi

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"

	"github.com/pyhost/pyhost/cgo"
	"github.com/pyhost/pyhost/wsgi/request"
)

// Key bytes for the keys the C side interns (cgo/environ_keys.h is the one list; a name
// missing there stops the program at start-up, before it serves anything).
var (
	kRequestMethod  = internedKey("REQUEST_METHOD")
	kScriptName     = internedKey("SCRIPT_NAME")
	kPathInfo       = internedKey("PATH_INFO")
	kQueryString    = internedKey("QUERY_STRING")
	kContentType    = internedKey("CONTENT_TYPE")
	kContentLength  = internedKey("CONTENT_LENGTH")
	kServerName     = internedKey("SERVER_NAME")
	kServerPort     = internedKey("SERVER_PORT")
	kServerProtocol = internedKey("SERVER_PROTOCOL")
	kRemoteAddr     = internedKey("REMOTE_ADDR")
	kRemotePort     = internedKey("REMOTE_PORT")
	kURLScheme      = internedKey("wsgi.url_scheme")
	kRequestID      = internedKey("pyhost.request_id")
	kHTTPHost       = internedKey("HTTP_HOST")
)

func internedKey(name string) byte {
	for _, k := range cgo.EnvironKeys {
		if k.Name == name {
			return k.ID
		}
	}
	panic("cgo/environ_keys.h has no environ key " + name)
}

// knownHeaders maps canonical request-header names to their interned environ keys.
var knownHeaders = func() map[string]byte {
	m := map[string]byte{}
	for _, k := range cgo.EnvironKeys {
		if k.Header != "" {
			m[k.Header] = k.ID
		}
	}
	return m
}()

// maxPackedField is the longest key or value a packed environ carries: its lengths are 32-bit.
const maxPackedField = math.MaxUint32

// FieldTooLargeError says a request field is longer than a packed environ can carry. net/http's
// header limit (MaxHeaderBytes) refuses such requests long before they get here; this keeps the
// format safe on its own, whatever that limit is set to. Answer it with 431.
type FieldTooLargeError struct {
	Field string // what was too long: "header name", "header value", "path", ...
	Len   int
}

func (e *FieldTooLargeError) Error() string {
	return fmt.Sprintf("request %s is %d bytes, over the %d a WSGI environ field can carry here",
		e.Field, e.Len, uint64(maxPackedField))
}

// packer appends one environ to b; the first field too long for the format is kept in err,
// and the buffer is then not to be used.
type packer struct {
	b   []byte
	err error
}

func (p *packer) tooLarge(field string, n int) bool {
	if uint64(n) <= maxPackedField {
		return false
	}
	if p.err == nil {
		p.err = &FieldTooLargeError{Field: field, Len: n}
	}
	return true
}

func (p *packer) value(field, v string) {
	if p.tooLarge(field, len(v)) {
		return
	}
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(v)))
	p.b = append(p.b, v...)
}

func (p *packer) known(key byte, field, v string) {
	p.b = append(p.b, key)
	p.value(field, v)
}

// headerKey writes HTTP_<NAME> for a header name, upper-cased, '-' as '_'.
func (p *packer) headerKey(name string) {
	if p.tooLarge("header name", len("HTTP_")+len(name)) {
		return
	}
	b := append(p.b, cgo.EnvironKeyCustom)
	b = binary.LittleEndian.AppendUint32(b, uint32(len("HTTP_")+len(name)))
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
	p.b = b
}

// custom writes a key the C side has not interned, and its value.
func (p *packer) custom(key, v string) {
	p.b = append(p.b, cgo.EnvironKeyCustom)
	p.value("key", key)
	p.value(key, v)
}

// joined writes several header values as one, as CGI and PEP 3333 want.
func (p *packer) joined(name string, values []string, sep string) {
	if len(values) == 1 {
		p.value(name, values[0])
		return
	}
	n := len(sep) * (len(values) - 1)
	for _, v := range values {
		n += len(v)
	}
	if p.tooLarge(name, n) {
		return
	}
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(n))
	for i, v := range values {
		if i > 0 {
			p.b = append(p.b, sep...)
		}
		p.b = append(p.b, v...)
	}
}

// skipHeader drops request headers that must not reach the environ: names with '_' (after
// the '-' → '_' mapping they could impersonate another header, e.g. a proxy's X-Auth-User),
// Proxy (httpoxy: HTTP_PROXY would be read as a proxy setting by some libraries), and the
// ones CGI carries under other names.
func skipHeader(name string) bool {
	return strings.IndexByte(name, '_') >= 0 || name == "Proxy" || name == "Content-Type" ||
		name == "Content-Length"
}

// packEnviron appends r's environ in the packed form the C side reads (cgo/environ.c). A field
// too long for that form (over 4 GiB: only a server whose header limit allows it can see one)
// panics with a *FieldTooLargeError, which net/http logs before dropping the connection;
// callers that can answer should use appendEnviron and send 431.
func packEnviron(b []byte, r *http.Request, scriptName, requestID string) []byte {
	b, err := appendEnviron(b, r, scriptName, requestID)
	if err != nil {
		panic(err)
	}
	return b
}

// appendEnviron appends r's environ in the packed form the C side reads, or returns a
// *FieldTooLargeError (and a buffer not to be used).
func appendEnviron(b []byte, r *http.Request, scriptName, requestID string) ([]byte, error) {
	p := packer{b: b}
	p.known(kRequestMethod, "method", r.Method)
	p.known(kScriptName, "script name", scriptName)
	p.known(kPathInfo, "path", strings.TrimPrefix(r.URL.Path, scriptName))
	p.known(kQueryString, "query", r.URL.RawQuery)
	if ct := r.Header["Content-Type"]; len(ct) > 0 {
		p.known(kContentType, "header Content-Type", ct[0])
	}
	if cl := r.Header["Content-Length"]; len(cl) > 0 && r.ContentLength >= 0 {
		p.known(kContentLength, "header Content-Length", cl[0])
	}
	https := r.TLS != nil || request.Scheme(r.Context()) == "https"
	host, port := serverNameAndPort(r, https)
	p.known(kServerName, "host", host)
	p.known(kServerPort, "host", port)
	p.known(kServerProtocol, "protocol", r.Proto)
	raddr, rport, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		raddr, rport = r.RemoteAddr, ""
	}
	p.known(kRemoteAddr, "remote address", raddr)
	p.known(kRemotePort, "remote address", rport)
	if https {
		p.known(kURLScheme, "scheme", "https")
		p.custom("HTTPS", "on") // as CGI servers say it (some apps read it, not the scheme)
	} else {
		p.known(kURLScheme, "scheme", "http")
	}
	p.known(kRequestID, "id", requestID)
	if r.Host != "" {
		p.known(kHTTPHost, "header Host", r.Host)
	}
	for name, values := range r.Header {
		if skipHeader(name) || len(values) == 0 {
			continue
		}
		if key, ok := knownHeaders[name]; ok {
			p.b = append(p.b, key)
		} else {
			p.headerKey(name)
		}
		sep := ", "
		if name == "Cookie" {
			sep = "; " // RFC 6265: one Cookie header, pairs separated by "; "
		}
		p.joined("header value", values, sep)
	}
	if r.ContentLength < 0 && len(r.TransferEncoding) > 0 {
		p.headerKey("Transfer-Encoding")
		p.joined("header Transfer-Encoding", r.TransferEncoding, ", ")
	}
	return p.b, p.err
}

// serverNameAndPort follows the Host header (as gunicorn and mod_wsgi with UseCanonicalName
// Off do; a Host without a port means the scheme's default) and falls back to the address the
// connection came in on (on a Unix socket, which has none, localhost and 80). https: the
// client's scheme (its own TLS, or a trusted proxy's word).
func serverNameAndPort(r *http.Request, https bool) (string, string) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	lhost, lport := "", ""
	if local != nil && local.Network() == "unix" {
		// A Unix socket has no host or port; PEP 3333 wants both non-empty.
		lhost, lport = "localhost", "80"
	} else if local != nil {
		lhost, lport, _ = net.SplitHostPort(local.String())
	}
	if r.Host == "" {
		return lhost, lport
	}
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		return h, p
	}
	if https {
		return strings.Trim(r.Host, "[]"), "443"
	}
	return strings.Trim(r.Host, "[]"), "80"
}
