package httpd

import (
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// LoosestLimits are the connection limits of a listener in front of several process groups
// (the supervisor's front end): for the head size, the head timeout, the keep-alive timeout
// and the write timeout, the loosest of lims (0, no limit, is the loosest), so that listener
// never refuses or cuts off what a group allows; the other fields are lims[0]'s. Each group's
// workers then hold its requests to that group's own limits (the header checks, body size and
// timeouts are theirs). lims must not be empty.
func LoosestLimits(lims []request.Limits) request.Limits {
	lim := lims[0]
	for _, l := range lims[1:] {
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
