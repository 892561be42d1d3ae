package httpd

import (
	"testing"
	"time"

	"github.com/pyhost/pyhost/wsgi/request"
)

// The front end takes the loosest of its groups' connection limits, whichever group comes first.
func TestLoosestLimits(t *testing.T) {
	strict, loose := request.DefaultLimits(), request.DefaultLimits()
	strict.MaxHeaderBytes, loose.MaxHeaderBytes = 8<<10, 64<<10
	strict.HeaderTimeout, loose.HeaderTimeout = 5*time.Second, 0 // 0: no timeout
	strict.WriteTimeout, loose.WriteTimeout = 10*time.Second, 90*time.Second
	strict.KeepAliveTimeout, loose.KeepAliveTimeout = 75*time.Second, 5*time.Second
	for _, order := range [][]request.Limits{{strict, loose}, {loose, strict}} {
		got := LoosestLimits(order)
		if got.MaxHeaderBytes != 64<<10 || got.HeaderTimeout != 0 ||
			got.WriteTimeout != 90*time.Second || got.KeepAliveTimeout != 75*time.Second {
			t.Errorf("loosest limits %+v; want 64 KiB of head, no header timeout, 90 s write "+
				"timeout, 75 s keep-alive", got)
		}
	}
}
