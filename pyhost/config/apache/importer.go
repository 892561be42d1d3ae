package apache

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pyhost/pyhost/pyhost/config"
)

// import-apache reads the mod_wsgi directives of an Apache config snippet and writes the
// equivalent pyhost config file. Directives pyhost has no counterpart for are reported on
// stderr with their line, never dropped silently.

// apacheScope is where a directive sits: the server, a <VirtualHost> (vhost ≥ 0), and inside
// that a <Location> or <Directory> (kind, arg).
type apacheScope struct {
	vhost int    // -1: server level
	kind  string // "server", "virtualhost", "location", "directory"
	arg   string
}

// apacheSetting is a WSGIProcessGroup, WSGIApplicationGroup or WSGICallableObject.
type apacheSetting struct {
	apacheScope
	name, value string
	line        int
}

// apacheMount is a WSGIScriptAlias with its inline options.
type apacheMount struct {
	apacheScope
	url, script string
	inline      map[string]string // process-group, application-group, callable-object
	line        int
}

type apacheDaemon struct {
	name string
	line int
	opts []importedOption
}

// importedOption is a serve flag with its values and how to write them (optInt ...).
type importedOption struct {
	flag   string
	values []string
	kind   int
}

// apacheImport holds what was read and the warnings for the user.
type apacheImport struct {
	file       string
	warn       io.Writer
	listen     []string
	daemons    []apacheDaemon
	settings   []apacheSetting
	mounts     []apacheMount
	static     []config.StaticAlias
	pythonHome string
	pythonPath []string
	homeLine   int
	pathLine   int
	known      func(flag string) bool // whether serve has the flag in this build
}

func (im *apacheImport) warnf(line int, format string, args ...any) {
	fmt.Fprintf(im.warn, "import-apache: %s:%d: %s\n", im.file, line, fmt.Sprintf(format, args...))
}

// Apache WSGIDaemonProcess options with a pyhost serve flag, and how their values read.
const (
	optInt      = iota // a number, written as is
	optSeconds         // whole seconds, written as a duration
	optString          // written as a string
	optPathList        // colon-separated paths, written as a list
)

var daemonOptions = map[string]struct {
	flag string
	kind int
}{
	"processes":          {"processes", optInt},
	"threads":            {"threads", optInt},
	"python-home":        {"python-home", optString},
	"python-path":        {"python-path", optPathList},
	"home":               {"chdir", optString},
	"user":               {"user", optString},
	"group":              {"group", optString},
	"display-name":       {"display-name", optString},
	"maximum-requests":   {"maximum-requests", optInt},
	"memory-limit":       {"memory-limit", optInt},
	"inactivity-timeout": {"inactivity-timeout", optSeconds},
	"request-timeout":    {"request-timeout", optSeconds},
	"graceful-timeout":   {"graceful-timeout", optSeconds},
	"shutdown-timeout":   {"shutdown-timeout", optSeconds},
	"startup-timeout":    {"startup-timeout", optSeconds},
	"deadlock-timeout":   {"deadlock-timeout", optSeconds},
	"queue-timeout":      {"queue-timeout", optSeconds},
	"restart-interval":   {"restart-interval", optSeconds},
	"cpu-time-limit":     {"cpu-time-limit", optSeconds},
}

// modWSGIThreads is mod_wsgi's default threads per daemon process (pyhost's is 8).
const modWSGIThreads = "15"

// Import converts the Apache config at path to a pyhost config file, reporting on warn
// what it cannot carry over.
func Import(path string, warn io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	directives, err := readApache(f)
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	fs := config.ServeFlags(&config.Config{}, io.Discard)
	im := &apacheImport{file: path, warn: warn,
		known: func(name string) bool { return fs.Lookup(name) != nil }}
	im.read(directives)
	if len(im.mounts) == 0 {
		return "", fmt.Errorf("%s has no WSGIScriptAlias: nothing to serve", path)
	}
	return im.toml(), nil
}

func (im *apacheImport) read(directives []apacheDirective) {
	var stack []apacheScope
	vhosts := 0
	scope := func() apacheScope {
		s := apacheScope{vhost: -1, kind: "server"}
		for _, st := range stack {
			switch st.kind {
			case "virtualhost":
				s = st
			case "location", "directory":
				s.kind, s.arg = st.kind, st.arg
			}
		}
		return s
	}
	for _, d := range directives {
		switch {
		case strings.HasPrefix(d.name, "</"):
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		case strings.HasPrefix(d.name, "<"):
			kind := strings.TrimPrefix(d.name, "<")
			s := apacheScope{vhost: scope().vhost, kind: kind, arg: strings.Join(d.args, " ")}
			switch kind {
			case "virtualhost":
				s.vhost = vhosts
				vhosts++
			case "locationmatch", "directorymatch", "files", "filesmatch":
				s.kind = "ignored"
			}
			stack = append(stack, s)
			continue
		}
		here := scope()
		inIgnored := false
		for _, st := range stack {
			inIgnored = inIgnored || st.kind == "ignored"
		}
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
			if len(d.args) != 1 {
				im.warnf(d.line, "%s takes one argument; ignored", d.spelling)
				continue
			}
			if inIgnored {
				im.warnf(d.line, "%s inside a regex or <Files> section cannot be mapped to a URL prefix; ignored", d.spelling)
				continue
			}
			if strings.HasPrefix(d.args[0], "%{ENV:") {
				im.warnf(d.line, "%s %s: chosen per request from the environment, which pyhost "+
					"does not do; ignored", d.spelling, d.args[0])
				continue
			}
			im.settings = append(im.settings, apacheSetting{apacheScope: here, name: d.name,
				value: d.args[0], line: d.line})
		case "wsgiscriptalias":
			im.readScriptAlias(d, here)
		case "wsgipythonhome":
			if len(d.args) == 1 {
				im.pythonHome, im.homeLine = d.args[0], d.line
			}
		case "wsgipythonpath":
			if len(d.args) == 1 {
				im.pythonPath, im.pathLine = splitPathList(d.args[0]), d.line
			}
		case "alias":
			if len(d.args) != 2 {
				im.warnf(d.line, "Alias takes a URL and a path; ignored")
				continue
			}
			if fi, err := os.Stat(d.args[1]); err == nil && !fi.IsDir() {
				im.warnf(d.line, "Alias %s %s names a file; pyhost's static aliases serve folders; "+
					"ignored", d.args[0], d.args[1])
				continue
			}
			prefix := d.args[0]
			if prefix != "/" {
				prefix = strings.TrimRight(prefix, "/")
			}
			im.static = append(im.static, config.StaticAlias{Prefix: prefix, Dir: d.args[1], Line: d.line})
		case "aliasmatch", "wsgiscriptaliasmatch":
			im.warnf(d.line, "%s (a regular expression) has no pyhost counterpart; map its URLs "+
				"with [[mount]] or [[static]] by hand", d.spelling)
		default:
			if strings.HasPrefix(d.name, "wsgi") {
				im.warnf(d.line, "%s has no pyhost counterpart; ignored", d.spelling)
			}
		}
	}
}

func splitPathList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (im *apacheImport) readDaemon(d apacheDirective) {
	if len(d.args) == 0 {
		im.warnf(d.line, "WSGIDaemonProcess without a name; ignored")
		return
	}
	g := apacheDaemon{name: d.args[0], line: d.line}
	for _, prev := range im.daemons {
		if prev.name == g.name {
			im.warnf(d.line, "WSGIDaemonProcess %s is already defined on line %d; ignored", g.name, prev.line)
			return
		}
	}
	hasThreads := false
	for _, a := range d.args[1:] {
		key, value, ok := strings.Cut(a, "=")
		if !ok {
			im.warnf(d.line, "WSGIDaemonProcess %s: %q is not an option=value; ignored", g.name, a)
			continue
		}
		opt, mapped := daemonOptions[key]
		if !mapped {
			im.warnf(d.line, "WSGIDaemonProcess %s: %s= has no pyhost counterpart; left out", g.name, key)
			continue
		}
		if !im.known(opt.flag) {
			im.warnf(d.line, "WSGIDaemonProcess %s: %s=%s: this pyhost has no --%s flag yet; left out",
				g.name, key, value, opt.flag)
			continue
		}
		var values []string
		switch opt.kind {
		case optInt, optSeconds:
			if _, err := strconv.ParseUint(value, 10, 63); err != nil {
				im.warnf(d.line, "WSGIDaemonProcess %s: %s=%q is not a whole number; left out", g.name, key, value)
				continue
			}
			values = []string{value}
			if opt.kind == optSeconds {
				values[0] += "s"
			}
		case optPathList:
			values = splitPathList(value)
		default:
			if key == "display-name" && value == "%{GROUP}" {
				value = "(wsgi:" + g.name + ")" // mod_wsgi's spelling of the group's name
			}
			values = []string{value}
		}
		hasThreads = hasThreads || key == "threads"
		g.opts = append(g.opts, importedOption{opt.flag, values, opt.kind})
	}
	if !hasThreads {
		g.opts = append(g.opts, importedOption{"threads", []string{modWSGIThreads}, optInt})
	}
	im.daemons = append(im.daemons, g)
}

func (g apacheDaemon) has(flag string) bool {
	for _, o := range g.opts {
		if o.flag == flag {
			return true
		}
	}
	return false
}

func (im *apacheImport) readScriptAlias(d apacheDirective, here apacheScope) {
	if len(d.args) < 2 {
		im.warnf(d.line, "WSGIScriptAlias takes a URL and a script; ignored")
		return
	}
	m := apacheMount{apacheScope: here, url: d.args[0], script: d.args[1], line: d.line,
		inline: map[string]string{}}
	if strings.HasSuffix(m.script, "/") {
		im.warnf(d.line, "WSGIScriptAlias %s %s maps a folder of scripts; pyhost mounts one "+
			"script per prefix; ignored", m.url, m.script)
		return
	}
	for _, a := range d.args[2:] {
		key, value, _ := strings.Cut(a, "=")
		switch key {
		case "process-group", "application-group", "callable-object":
			m.inline[key] = value
		default:
			im.warnf(d.line, "WSGIScriptAlias option %s has no pyhost counterpart; ignored", a)
		}
	}
	if m.url != "/" {
		m.url = strings.TrimRight(m.url, "/")
	}
	for _, prev := range im.mounts {
		if prev.url == m.url {
			im.warnf(d.line, "%s is already mounted on line %d (pyhost serves every mount on "+
				"every listener, whatever the VirtualHost); ignored", m.url, prev.line)
			return
		}
	}
	im.mounts = append(im.mounts, m)
}

// setting is the value of a scoped directive for a mount, as Apache merges them: server, then
// VirtualHost, then <Directory> (of the script), then <Location> (of the URL), the most
// specific match last; an option on the WSGIScriptAlias line itself wins over all.
func (im *apacheImport) setting(m apacheMount, name, inline string) string {
	if v, ok := m.inline[inline]; ok {
		return v
	}
	best, bestRank := "", -1
	for _, s := range im.settings {
		if s.name != name || (s.vhost != -1 && s.vhost != m.vhost) {
			continue
		}
		rank := 0
		switch s.kind {
		case "virtualhost":
			rank = 1
		case "directory":
			dir := strings.TrimRight(s.arg, "/")
			if m.script != dir && !strings.HasPrefix(m.script, dir+"/") {
				continue
			}
			rank = 2_000 + len(dir)
		case "location":
			loc := strings.TrimRight(s.arg, "/")
			if m.url != loc && !strings.HasPrefix(m.url, loc+"/") && loc != "" {
				if strings.HasPrefix(loc, m.url) {
					im.warnf(s.line, "%s %s in <Location %s> covers only part of the mount %s; "+
						"pyhost sets it per mount; ignored", s.name, s.value, s.arg, m.url)
				}
				continue
			}
			rank = 3_000 + len(loc)
		}
		if rank >= bestRank {
			best, bestRank = s.value, rank
		}
	}
	return best
}

// embeddedGroupName is the group of mounts that Apache runs in its own processes (mod_wsgi's
// embedded mode: no WSGIProcessGroup, or %{GLOBAL}).
const embeddedProcessGroup = "embedded"

func (im *apacheImport) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# pyhost config imported from %s by pyhost import-apache.\n", im.file)
	b.WriteString("# Check it with: pyhost check-config FILE\n")
	if len(im.listen) > 0 {
		fmt.Fprintf(&b, "listen = %s\n", tomlList(im.listen))
	}
	type mountOut struct {
		m                apacheMount
		group, app, call string
	}
	var mounts []mountOut
	used := map[string]bool{}
	embedded := false
	for _, m := range im.mounts {
		group := im.setting(m, "wsgiprocessgroup", "process-group")
		if group == "" || group == "%{GLOBAL}" {
			group, embedded = embeddedProcessGroup, true
		} else if !im.hasDaemon(group) {
			im.warnf(m.line, "WSGIScriptAlias %s runs in process group %q, which no "+
				"WSGIDaemonProcess defines; it goes to group %q", m.url, group, embeddedProcessGroup)
			group, embedded = embeddedProcessGroup, true
		}
		used[group] = true
		app := im.setting(m, "wsgiapplicationgroup", "application-group")
		if app == "" {
			app = config.AppGroupResource // mod_wsgi's default: one interpreter per script URL
		}
		mounts = append(mounts, mountOut{m: m, group: group, app: app,
			call: im.setting(m, "wsgicallableobject", "callable-object")})
	}
	if !embedded && len(im.pythonPath) > 0 {
		im.warnf(im.pathLine, "WSGIPythonPath applies to mod_wsgi's embedded mode only, which "+
			"no mount uses; give daemon groups python-path= instead; left out")
	}
	for _, d := range im.daemons {
		if !used[d.name] {
			im.warnf(d.line, "WSGIDaemonProcess %s: no WSGIScriptAlias runs in it; left out", d.name)
			continue
		}
		fmt.Fprintf(&b, "\n# WSGIDaemonProcess on line %d\n[group.%s]\n", d.line, tomlKey(d.name))
		// Daemon processes start from the Python that WSGIPythonHome chose, as mod_wsgi's do.
		if im.pythonHome != "" && !d.has("python-home") {
			d.opts = append(d.opts, importedOption{"python-home", []string{im.pythonHome}, optString})
		}
		for _, o := range d.opts {
			writeOption(&b, o)
		}
	}
	if embedded {
		fmt.Fprintf(&b, "\n# mod_wsgi's embedded mode (no WSGIProcessGroup): one pyhost process\n[group.%s]\n", tomlKey(embeddedProcessGroup))
		if im.pythonHome != "" {
			writeOption(&b, importedOption{"python-home", []string{im.pythonHome}, optString})
		}
		if len(im.pythonPath) > 0 {
			writeOption(&b, importedOption{"python-path", im.pythonPath, optPathList})
		}
	}
	for _, mo := range mounts {
		fmt.Fprintf(&b, "\n# WSGIScriptAlias on line %d\n[[mount]]\n", mo.m.line)
		fmt.Fprintf(&b, "prefix = %s\napp = %s\nprocess-group = %s\napplication-group = %s\n",
			tomlString(mo.m.url), tomlString(mo.m.script), tomlString(mo.group), tomlString(mo.app))
		if mo.call != "" {
			fmt.Fprintf(&b, "callable = %s\n", tomlString(mo.call))
		}
	}
	for _, s := range im.static {
		fmt.Fprintf(&b, "\n# Alias on line %d\n[[static]]\nprefix = %s\ndirectory = %s\n", s.Line,
			tomlString(s.Prefix), tomlString(s.Dir))
	}
	return b.String()
}

func (im *apacheImport) hasDaemon(name string) bool {
	for _, d := range im.daemons {
		if d.name == name {
			return true
		}
	}
	return false
}

func writeOption(b *strings.Builder, o importedOption) {
	switch o.kind {
	case optInt:
		fmt.Fprintf(b, "%s = %s\n", o.flag, o.values[0])
	case optPathList:
		fmt.Fprintf(b, "%s = %s\n", o.flag, tomlList(o.values))
	default:
		fmt.Fprintf(b, "%s = %s\n", o.flag, tomlString(o.values[0]))
	}
}
