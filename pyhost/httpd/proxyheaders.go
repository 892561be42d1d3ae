package httpd

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pyhost/pyhost/wsgi/request"
)

// Trusted proxy headers (--trusted-proxy). Behind nginx or a load balancer the connection
// comes from the proxy; the proxy says who its client was, which scheme and which Host it
// used, in header fields. Those fields are believed only from a peer in the trusted set: from
// anyone else they are ordinary headers (HTTP_X_FORWARDED_FOR, ...) and change nothing.
//
// The rules (README, "Behind a proxy"):
//   - Forwarded (RFC 7239) wins when a trusted peer sends it: X-Forwarded-* are then not read.
//     Otherwise X-Forwarded-For, -Proto and -Host.
//   - The chain of addresses is walked from the right (the hop nearest to pyhost) while each
//     address is trusted; the first untrusted address is the client. If every address is
//     trusted, the leftmost is. A hop that is not an address (Forwarded's "unknown" or an
//     obfuscated "_name", or something malformed) stops the walk: the client is then the last
//     address reached (the peer itself if it is the rightmost hop).
//   - The scheme and host are those the client used: the proto= and host= of the element where
//     the walk stopped; for X-Forwarded-Proto and -Host, the entry at the client's place when
//     the list is as long as X-Forwarded-For's, else the rightmost (the one the trusted peer
//     wrote). A scheme other than http or https, or a host that is not host[:port], is ignored.
//   - REMOTE_PORT is the client's port when Forwarded's for= names one, else empty: the
//     peer's port is a port of another connection.
//
// The supervisor's front resolves them once, for the requests it forwards; the workers behind
// it believe the front's own fields (HeaderClient, HeaderScheme) and do not resolve again.

// ProxyHeaders resolves the proxy header fields of requests from trusted peers.
type ProxyHeaders struct {
	trusted []netip.Prefix
	unix    bool // peers on a Unix socket (their address is not an IP address)
}

// NewProxyHeaders trusts peers whose address is in one of trusted, and, with unix, peers on a
// Unix socket. It returns nil when it trusts no one; a nil *ProxyHeaders resolves nothing.
func NewProxyHeaders(trusted []netip.Prefix, unix bool) *ProxyHeaders {
	if len(trusted) == 0 && !unix {
		return nil
	}
	return &ProxyHeaders{trusted: trusted, unix: unix}
}

// Resolved is what a trusted proxy's header fields say of a request; an empty field changes
// nothing.
type Resolved struct {
	Client string // host:port, the port empty when unknown ("203.0.113.7:", "[2001:db8::1]:")
	Scheme string // "http" or "https"
	Host   string // host[:port], as a Host header
}

// Wrap returns next behind the resolution: a request from a trusted peer reaches next with
// RemoteAddr and Host rewritten and its scheme marked (request.WithScheme). With p nil, next
// is returned unchanged.
func (p *ProxyHeaders) Wrap(next http.Handler) http.Handler {
	if p == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res, ok := p.Resolve(r.RemoteAddr, r.Header); ok {
			r = res.Apply(r)
		}
		next.ServeHTTP(w, r)
	})
}

// Apply returns a copy of r that says what res says.
func (res Resolved) Apply(r *http.Request) *http.Request {
	ctx := r.Context()
	if res.Scheme != "" {
		ctx = request.WithScheme(ctx, res.Scheme)
	}
	r = r.WithContext(ctx)
	if res.Client != "" {
		r.RemoteAddr = res.Client
	}
	if res.Host != "" {
		r.Host = res.Host
	}
	return r
}

// Resolve reads the proxy header fields of a request that came from peer (a RemoteAddr);
// false when peer is not trusted or the fields say nothing usable.
func (p *ProxyHeaders) Resolve(peer string, h http.Header) (Resolved, bool) {
	if p == nil || !p.trustsPeer(peer) {
		return Resolved{}, false
	}
	var res Resolved
	if fw := h["Forwarded"]; len(fw) > 0 {
		res = p.walk(parseForwarded(fw))
	} else {
		res = p.walkXForwarded(h)
	}
	return res, res != Resolved{}
}

// trustsPeer: peer is a RemoteAddr, host:port for TCP, anything else on a Unix socket.
func (p *ProxyHeaders) trustsPeer(peer string) bool {
	ap, err := netip.ParseAddrPort(peer)
	if err != nil {
		return p.unix && !looksLikeIP(peer)
	}
	return p.trusts(ap.Addr())
}

// looksLikeIP: a RemoteAddr that is an IP address in some other form (no port): not a Unix
// socket's peer.
func looksLikeIP(peer string) bool {
	host, _, err := net.SplitHostPort(peer)
	if err != nil {
		host = peer
	}
	_, err = netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil
}

func (p *ProxyHeaders) trusts(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, pr := range p.trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// hop is one element of a proxy chain: who a proxy's client was, and what the proxy saw.
type hop struct {
	addr   netip.Addr // invalid: unknown, obfuscated or malformed
	port   string     // "" when not given (or obfuscated)
	scheme string     // "" when absent or not http/https
	host   string     // "" when absent or not host[:port]
}

// walk walks hops from the right while their addresses are trusted.
func (p *ProxyHeaders) walk(hops []hop) Resolved {
	var res Resolved
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		res.Scheme, res.Host = h.scheme, h.host
		if !h.addr.IsValid() {
			break
		}
		res.Client = net.JoinHostPort(h.addr.String(), h.port)
		if !p.trusts(h.addr) {
			break
		}
	}
	return res
}

// walkXForwarded reads X-Forwarded-For, -Proto and -Host: hops from For, each given the Proto
// and Host entry at its place when those lists are as long, else their rightmost entries.
func (p *ProxyHeaders) walkXForwarded(h http.Header) Resolved {
	addrs := commaList(h["X-Forwarded-For"])
	protos := commaList(h["X-Forwarded-Proto"])
	hosts := commaList(h["X-Forwarded-Host"])
	pick := func(list []string, i int) string {
		if len(list) == 0 {
			return ""
		}
		if len(list) == len(addrs) && i >= 0 {
			return list[i]
		}
		return list[len(list)-1]
	}
	if len(addrs) == 0 {
		return Resolved{Scheme: cleanScheme(pick(protos, -1)), Host: cleanHost(pick(hosts, -1))}
	}
	hops := make([]hop, len(addrs))
	for i, a := range addrs {
		hops[i].addr, hops[i].port = parseNode(a)
		hops[i].scheme = cleanScheme(pick(protos, i))
		hops[i].host = cleanHost(pick(hosts, i))
	}
	return p.walk(hops)
}

// commaList splits the values of a list header field at commas, trimming blanks; empty
// entries are kept (they stop a walk, as any malformed hop does).
func commaList(values []string) []string {
	var out []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// parseNode reads a node as Forwarded's for= and X-Forwarded-For write it: an IPv4 address,
// a bracketed IPv6 address (a bare one is taken too), either with a port. An obfuscated port
// ("_x") is dropped; "unknown", an obfuscated node ("_x") or anything else gives an invalid
// address.
func parseNode(s string) (netip.Addr, string) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone(""), ""
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, ""
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && port[0] != ':' {
			return netip.Addr{}, ""
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	a, err := netip.ParseAddr(host)
	if err != nil || (strings.HasPrefix(s, "[") && !a.Is6()) {
		return netip.Addr{}, ""
	}
	if !validPort(port) {
		port = "" // obfuscated ("_x") or malformed: the address still stands
	}
	return a.WithZone(""), port
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// cleanScheme is s lowered if it is http or https, else "".
func cleanScheme(s string) string {
	switch strings.ToLower(s) {
	case "http":
		return "http"
	case "https":
		return "https"
	}
	return ""
}

// cleanHost is s if it is a Host value (RFC 9110 §7.2: uri-host [":" port]), else "".
func cleanHost(s string) string {
	if s == "" || len(s) > 255+7 {
		return ""
	}
	name, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return ""
		}
		if a, err := netip.ParseAddr(s[1:end]); err != nil || !a.Is6() || a.Zone() != "" {
			return ""
		}
		name, port = "", s[end+1:]
		if port != "" && port[0] != ':' {
			return ""
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 {
		name, port = s[:i], s[i:]
	}
	if port != "" && !validPort(port[1:]) {
		return ""
	}
	for i := 0; i < len(name); i++ {
		if !hostChar(name[i]) {
			return ""
		}
	}
	return s
}

// hostChar: a character of a host name (RFC 3986's unreserved ones and the '%' of an escape;
// its sub-delims, legal but never in a real name, are refused: an app may split on them).
func hostChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~' || c == '%'
}
