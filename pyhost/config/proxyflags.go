package config

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
)

// TrustedProxies is --trusted-proxy: the peers whose proxy header fields (Forwarded,
// X-Forwarded-For, -Proto, -Host) pyhost believes. Empty by default: nobody is trusted.
type TrustedProxies struct {
	Prefixes []netip.Prefix // addresses, each a CIDR (a bare IP is its /32 or /128)
	Unix     bool           // peers on a Unix socket (--trusted-proxy unix)
}

// Empty reports whether nobody is trusted.
func (t TrustedProxies) Empty() bool { return len(t.Prefixes) == 0 && !t.Unix }

// clone is t with a slice of its own.
func (t TrustedProxies) clone() TrustedProxies {
	t.Prefixes = append([]netip.Prefix(nil), t.Prefixes...)
	return t
}

// String lists t as --trusted-proxy takes it (comma-separated).
func (t *TrustedProxies) String() string {
	if t == nil {
		return ""
	}
	var s []string
	for _, p := range t.Prefixes {
		s = append(s, p.String())
	}
	if t.Unix {
		s = append(s, "unix")
	}
	return strings.Join(s, ",")
}

// Set adds one --trusted-proxy value: CIDRs or IP addresses, "unix", or "*" (everyone),
// several separated by commas.
func (t *TrustedProxies) Set(v string) error {
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "unix":
			t.Unix = true
		case item == "*":
			t.Prefixes = append(t.Prefixes, netip.MustParsePrefix("0.0.0.0/0"),
				netip.MustParsePrefix("::/0"))
			t.Unix = true
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR: want e.g. 10.0.0.0/8, 192.168.1.7/32 "+
					"or fd00::/8", item)
			}
			t.Prefixes = append(t.Prefixes, p.Masked())
		default:
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return fmt.Errorf("%q is neither an IP address nor a CIDR: want e.g. "+
					"127.0.0.1, 10.0.0.0/8, ::1, unix or *", item)
			}
			a = a.Unmap()
			t.Prefixes = append(t.Prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return nil
}

// proxyFlags: whom pyhost believes about the client behind a proxy.
func proxyFlags(fs *flag.FlagSet, cfg *Config) {
	fs.Var(&cfg.TrustedProxies, "trusted-proxy", "believe the proxy header fields "+
		"(Forwarded, X-Forwarded-For/-Proto/-Host) of requests from these peers: a `CIDR` or an "+
		"IP address, unix (peers on a Unix socket) or * (everyone: only when nothing but the "+
		"proxy can reach pyhost); repeatable or comma-separated. They set REMOTE_ADDR (the "+
		"first untrusted address, from the right), wsgi.url_scheme, HTTPS, HTTP_HOST, "+
		"SERVER_NAME and SERVER_PORT, and the access log's client; Forwarded wins over "+
		"X-Forwarded-*. From other peers they are ordinary headers (default: nobody is "+
		"trusted)")
}
