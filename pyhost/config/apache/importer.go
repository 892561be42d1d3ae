package apache

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pyhost/pyhost/pyhost/config"
)

// importer holds what was read and reports what cannot be carried over.
type importer struct {
	file       string
	warn       io.Writer
	listen     []string
	daemons    []daemon
	settings   []scopedSetting
	mounts     []scriptAlias
	static     []config.StaticAlias
	pythonHome string
	pythonPath []string
	homeLine   int
	pathLine   int
	vhostAddrs []vhostAddr            // the addresses of the <VirtualHost> sections, for want of Listen
	known      func(flag string) bool // whether serve has the flag in this build
}

func (im *importer) warnf(line int, format string, args ...any) {
	fmt.Fprintf(im.warn, "import-apache: %s:%d: %s\n", im.file, line, fmt.Sprintf(format, args...))
}

// Import converts the Apache config at path to a pyhost config file, reporting on warn
// what it cannot carry over.
func Import(path string, warn io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	directives, err := readDirectives(f)
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	fs := config.ServeFlags(&config.Config{}, io.Discard)
	im := &importer{file: path, warn: warn,
		known: func(name string) bool { return fs.Lookup(name) != nil }}
	im.read(directives)
	if len(im.mounts) == 0 {
		return "", fmt.Errorf("%s has no WSGIScriptAlias: nothing to serve", path)
	}
	return im.toml(), nil
}

// scope is where a directive sits: the server, a <VirtualHost> (vhost ≥ 0), and inside that
// a <Location> or <Directory> (kind, arg).
type scope struct {
	vhost int    // -1: server level
	kind  string // "server", "virtualhost", "location", "directory"
	arg   string
}

// sections is the stack of the sections open at a directive.
type sections struct {
	stack  []scope
	vhosts int // <VirtualHost> sections seen so far
}

// enter opens a section (d is its opening line); a regex or <Files> section is "ignored".
func (s *sections) enter(d directive) {
	kind := strings.TrimPrefix(d.name, "<")
	sc := scope{vhost: s.scope().vhost, kind: kind, arg: strings.Join(d.args, " ")}
	switch kind {
	case "virtualhost":
		sc.vhost = s.vhosts
		s.vhosts++
	case "locationmatch", "directorymatch", "files", "filesmatch":
		sc.kind = "ignored"
	}
	s.stack = append(s.stack, sc)
}

func (s *sections) leave() {
	if len(s.stack) > 0 {
		s.stack = s.stack[:len(s.stack)-1]
	}
}

// scope is the innermost <VirtualHost> with the innermost <Location> or <Directory> in it.
func (s *sections) scope() scope {
	sc := scope{vhost: -1, kind: "server"}
	for _, st := range s.stack {
		switch st.kind {
		case "virtualhost":
			sc = st
		case "location", "directory":
			sc.kind, sc.arg = st.kind, st.arg
		}
	}
	return sc
}

// ignored says whether a regex or <Files> section is open: its directives cannot be mapped
// to a URL prefix.
func (s *sections) ignored() bool {
	for _, st := range s.stack {
		if st.kind == "ignored" {
			return true
		}
	}
	return false
}

// read takes the directives in order, following the sections they sit in.
func (im *importer) read(directives []directive) {
	var open sections
	for _, d := range directives {
		switch {
		case strings.HasPrefix(d.name, "</"):
			open.leave()
		case strings.HasPrefix(d.name, "<"):
			open.enter(d)
			if d.name == "<virtualhost" {
				im.readVirtualHost(d)
			}
		default:
			im.readDirective(d, &open)
		}
	}
}

// readDirective reads one directive outside the section lines.
func (im *importer) readDirective(d directive, open *sections) {
	switch d.name {
	case "listen":
		if len(d.args) > 0 {
			addr := d.args[0]
			if !strings.Contains(addr, ":") {
				addr = ":" + addr
			}
			im.listen = append(im.listen, addr)
		}
	case "wsgidaemonprocess":
		im.readDaemon(d)
	case "wsgiprocessgroup", "wsgiapplicationgroup", "wsgicallableobject":
		im.readSetting(d, open)
	case "wsgiscriptalias":
		im.readScriptAlias(d, open.scope())
	case "wsgipythonhome":
		if len(d.args) == 1 {
			im.pythonHome, im.homeLine = d.args[0], d.line
		}
	case "wsgipythonpath":
		if len(d.args) == 1 {
			im.pythonPath, im.pathLine = splitPathList(d.args[0]), d.line
		}
	case "alias":
		im.readAlias(d)
	case "aliasmatch", "wsgiscriptaliasmatch":
		im.warnf(d.line, "%s (a regular expression) has no pyhost counterpart; map its URLs "+
			"with [[mount]] or [[static]] by hand", d.spelling)
	default:
		if strings.HasPrefix(d.name, "wsgi") {
			im.warnf(d.line, "%s has no pyhost counterpart; ignored", d.spelling)
		}
	}
}

// readAlias reads an Alias of a folder: a static alias.
func (im *importer) readAlias(d directive) {
	if len(d.args) != 2 {
		im.warnf(d.line, "Alias takes a URL and a path; ignored")
		return
	}
	if fi, err := os.Stat(d.args[1]); err == nil && !fi.IsDir() {
		im.warnf(d.line, "Alias %s %s names a file; pyhost's static aliases serve folders; "+
			"ignored", d.args[0], d.args[1])
		return
	}
	prefix := d.args[0]
	if prefix != "/" {
		prefix = strings.TrimRight(prefix, "/")
	}
	im.static = append(im.static, config.StaticAlias{Prefix: prefix, Dir: d.args[1], Line: d.line})
}
