package pyhost

import (
	"fmt"
	"os"
	"strings"
)

// Static URL aliases (--static /PREFIX=DIR, [[static]] in a config file): served by
// httpd.StaticFiles, in the workers when they accept on a listener themselves, in the
// supervisor when it routes.

// ParseStatic reads --static /PREFIX=DIR.
func ParseStatic(v string) (StaticAlias, error) {
	prefix, dir, ok := strings.Cut(v, "=")
	if !ok || !strings.HasPrefix(prefix, "/") || dir == "" {
		return StaticAlias{}, fmt.Errorf("--static %q: want /PREFIX=DIR, e.g. --static /static=./public", v)
	}
	if prefix != "/" {
		prefix = strings.TrimRight(prefix, "/")
	}
	return StaticAlias{Prefix: prefix, Dir: dir}, nil
}

// checkStatic refuses an alias whose folder is missing or whose prefix a mount has.
func checkStatic(a StaticAlias, mountPrefixes map[string]bool) error {
	if mountPrefixes[a.Prefix] {
		return fmt.Errorf("--static %s: an app is mounted at %s already", a.Prefix, a.Prefix)
	}
	fi, err := os.Stat(a.Dir)
	if err != nil {
		return fmt.Errorf("--static %s=%s: %w", a.Prefix, a.Dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--static %s=%s: not a folder", a.Prefix, a.Dir)
	}
	return nil
}
