package httpd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// StaticFiles serves the files under one folder at a URL prefix: a static URL alias
// (--static /PREFIX=DIR, [[static]] in a config file), served by Go, never by Python, with
// net/http's content types, ranges and conditional requests. It answers GET and HEAD for
// regular files only: no directory listings, no dotfiles, nothing outside the folder.
type StaticFiles struct {
	prefix string   // "/static" (no trailing slash) or "/"
	root   *os.Root // the folder: no name opened through it can leave it (symlinks included)
}

// NewStaticFiles serves the folder dir at prefix ("/static", no trailing slash, or "/"); it
// opens the folder now, and keeps it open.
func NewStaticFiles(prefix, dir string) (*StaticFiles, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("static alias %s: %w", prefix, err)
	}
	return &StaticFiles{prefix: prefix, root: root}, nil
}

func (s *StaticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
func (s *StaticFiles) fileName(urlPath string) (string, bool) {
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
