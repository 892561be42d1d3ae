package pyhost

import (
	"time"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/wsgi/request"
)

// routerLimits are the connection limits of the router's public listeners, in front of every
// process group: the loosest of the groups' (0, no limit, is the loosest), so the router never
// refuses or cuts off what a group allows. Each group's workers then hold its requests to that
// group's own limits (the header checks, body size and timeouts are theirs).
func routerLimits(cfgs []config.Config) request.Limits {
	lim := cfgs[0].Limits
	for _, c := range cfgs[1:] {
		l := c.Limits
		lim.MaxHeaderBytes = loosest(lim.MaxHeaderBytes, l.MaxHeaderBytes)
		lim.HeaderTimeout = loosest(lim.HeaderTimeout, l.HeaderTimeout)
		lim.KeepAliveTimeout = loosest(lim.KeepAliveTimeout, l.KeepAliveTimeout)
		lim.WriteTimeout = loosest(lim.WriteTimeout, l.WriteTimeout)
	}
	return lim
}

// loosest is the larger of two limits, where 0 means none.
func loosest[T int | time.Duration](a, b T) T {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}
