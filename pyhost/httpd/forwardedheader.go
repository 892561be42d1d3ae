package httpd

import "strings"

// parseForwarded reads the Forwarded header field (RFC 7239 §4), all its lines in order, as a
// chain of hops:
//
//	Forwarded = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair = token "=" value ; value = token / quoted-string
//
// Parameter names are case-insensitive. An element that cannot be read (an unterminated
// quote, a pair without "=", a parameter given twice) is kept as a hop that says nothing, so
// a walk stops there rather than skipping over it.
func parseForwarded(values []string) []hop {
	var hops []hop
	for _, v := range values {
		for len(v) > 0 {
			var elem string
			elem, v = cutElement(v)
			hops = append(hops, parseElement(elem))
		}
	}
	return hops
}

// cutElement cuts the first comma-separated element off s, commas inside quoted strings
// being part of their value.
func cutElement(s string) (elem, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ',':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// parseElement reads one forwarded-element's for=, proto= and host= (other parameters, by=
// included, are skipped).
func parseElement(elem string) hop {
	var h hop
	var seen [3]bool // for, proto, host
	s := strings.TrimSpace(elem)
	for s != "" {
		name, value, rest, ok := cutPair(s)
		if !ok {
			return hop{}
		}
		s = rest
		if name == "" { // an empty pair between two ';'
			continue
		}
		i := -1
		switch strings.ToLower(name) {
		case "for":
			i = 0
			h.addr, h.port = parseNode(value)
		case "proto":
			i, h.scheme = 1, cleanScheme(value)
		case "host":
			i, h.host = 2, cleanHost(value)
		}
		if i >= 0 {
			if seen[i] {
				return hop{}
			}
			seen[i] = true
		}
	}
	return h
}

// cutPair reads one name=value pair (value a token or a quoted string) at the start of s, up
// to the next ';' or the end; ok false when s does not start with one.
func cutPair(s string) (name, value, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] == ';' {
		return "", "", strings.TrimPrefix(s, ";"), true
	}
	eq := strings.IndexByte(s, '=')
	if eq <= 0 || !isToken(strings.TrimRight(s[:eq], " \t")) {
		return "", "", "", false
	}
	name, s = strings.TrimRight(s[:eq], " \t"), strings.TrimLeft(s[eq+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", "", "", false // no closing quote
		}
		value, s = b.String(), s[i+1:]
	} else {
		end := strings.IndexByte(s, ';')
		if end < 0 {
			end = len(s)
		}
		value, s = strings.TrimRight(s[:end], " \t"), s[end:]
		if !isToken(value) && !isNodeLike(value) {
			return "", "", "", false
		}
	}
	s = strings.TrimLeft(s, " \t")
	if s != "" && s[0] != ';' {
		return "", "", "", false // something after the value
	}
	return name, value, strings.TrimPrefix(s, ";"), true
}

// isToken: RFC 9110's token (tchar+).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

// isNodeLike: an unquoted value with the ':' and brackets RFC 7239 wants quoted (IPv6, a
// port); proxies do send them so, and the address parser decides what they are worth.
func isNodeLike(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != ':' && c != '[' && c != ']' && !isToken(s[i:i+1]) {
			return false
		}
	}
	return s != ""
}
