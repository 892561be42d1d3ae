package apache

// Where the imported server listens: Apache's Listen directives, or, when the snippet has
// none (they usually sit in ports.conf, outside a site's file), its <VirtualHost> addresses.

import (
	"fmt"
	"net"
	"slices"

	"github.com/pyhost/pyhost/pyhost/config"
)

// vhostAddr is one address of a <VirtualHost ADDR...> line, as pyhost's listen spells it.
type vhostAddr struct {
	addr string
	line int
}

// readVirtualHost keeps the addresses of a <VirtualHost> line: *:80 and _default_:80 become
// :80 (every interface), HOST:PORT stays; one without a port (Apache's then is its Listen's)
// is reported.
func (im *importer) readVirtualHost(d directive) {
	for _, a := range d.args {
		host, port, err := net.SplitHostPort(a)
		if err != nil || port == "" || port == "*" {
			im.warnf(d.line, "<VirtualHost %s> names no port; give listen in the output by hand", a)
			continue
		}
		if host == "*" || host == "_default_" {
			host = ""
		}
		im.vhostAddrs = append(im.vhostAddrs, vhostAddr{net.JoinHostPort(host, port), d.line})
	}
}

// listenAddrs is the output's listen: the Listen directives; else the <VirtualHost> ports,
// said so; else nothing, and the warning that pyhost's default is not Apache's.
func (im *importer) listenAddrs() []string {
	if len(im.listen) > 0 {
		return im.listen
	}
	var out []string
	for _, v := range im.vhostAddrs {
		if !slices.Contains(out, v.addr) {
			out = append(out, v.addr)
			im.warnf(v.line, "no Listen directive: listening on %s, the <VirtualHost>'s address "+
				"(a port under 1024 needs root or CAP_NET_BIND_SERVICE; behind a proxy, change "+
				"listen to a local port)", v.addr)
		}
	}
	if len(out) == 0 {
		fmt.Fprintf(im.warn, "import-apache: %s: no Listen directive and no <VirtualHost> "+
			"address: the output has no listen, so pyhost serves on %s; add listen = "+
			"[\"HOST:PORT\"] for Apache's port\n", im.file, config.DefaultListen)
	}
	return out
}
