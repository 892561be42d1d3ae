package pyhost

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// Static URL aliases (--static /PREFIX=DIR, [[static]] in a config file): files served by Go,
// never by Python, with net/http's content types, ranges and conditional requests. Served by
// the workers when they accept on a listener themselves, by the supervisor when it routes.

// staticFiles serves the files under one folder at a URL prefix.
type staticFiles struct {
	prefix string   // "/static" (no trailing slash) or "/"
	root   *os.Root // the folder: no name opened through it can leave it (symlinks included)
}

func newStaticFiles(a StaticAlias) (*staticFiles, error) {
	root, err := os.OpenRoot(a.Dir)
	if err != nil {
		return nil, fmt.Errorf("static alias %s: %w", a.Prefix, err)
	}
	return &staticFiles{prefix: a.Prefix, root: root}, nil
}

func (s *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := s.fileName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() { // no directory listings, no devices
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}

// fileName is the path below the folder for a URL path, or false for one that names the
// folder itself, a dotfile or dot-folder (.git, .env, and ".." on the way out), or a NUL.
func (s *staticFiles) fileName(urlPath string) (string, bool) {
	rel := strings.TrimPrefix(urlPath, s.prefix)
	if s.prefix == "/" {
		rel = urlPath
	}
	if rel != "" && rel[0] != '/' { // /staticfoo is not under /static
		return "", false
	}
	var parts []string
	for _, seg := range strings.Split(rel, "/") {
		switch {
		case seg == "":
		case strings.HasPrefix(seg, "."), strings.ContainsAny(seg, "\x00\\"):
			return "", false
		default:
			parts = append(parts, seg)
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "/"), true
}

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
