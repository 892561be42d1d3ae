package observe

import (
	"fmt"
	"io"
	"strings"
)

// GILState is whether an application group's GIL is on, on a free-threaded build in --gil
// free, and what switched it back on: the extension modules (or "PYTHON_GIL=1") that did.
type GILState struct {
	ApplicationGroup string   `json:"application_group"`
	Enabled          bool     `json:"enabled"`
	EnabledBy        []string `json:"enabled_by,omitempty"`
}

// writeGILText is the text form's line per application group.
func writeGILText(w io.Writer, gs []GILState) {
	for _, g := range gs {
		if !g.Enabled {
			fmt.Fprintf(w, "  application group %s: GIL off (free-threaded)\n", g.ApplicationGroup)
			continue
		}
		fmt.Fprintf(w, "  application group %s: GIL ON again, enabled by %s\n", g.ApplicationGroup,
			strings.Join(g.EnabledBy, ", "))
	}
}
