package apache

// Writing the config file: listeners, the process groups the mounts use, the mounts, the
// static aliases, each with a comment naming its Apache line.

import (
	"fmt"
	"strings"

	"github.com/pyhost/pyhost/pyhost/config"
)

// embeddedProcessGroup is the process group of the mounts that Apache runs in its own
// processes (mod_wsgi's embedded mode: no WSGIProcessGroup, or %{GLOBAL}).
const embeddedProcessGroup = "embedded"

// placedMount is a mount with the groups and callable that apply to it.
type placedMount struct {
	m                            scriptAlias
	processGroup, appGroup, call string
}

// placement is where the mounts run: each mount's groups, the daemon process groups in use,
// and whether any runs in the embedded group.
type placement struct {
	mounts   []placedMount
	used     map[string]bool
	embedded bool
}

func (im *importer) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# pyhost config imported from %s by pyhost import-apache.\n", im.file)
	b.WriteString("# Check it with: pyhost check-config FILE\n")
	if listen := im.listenAddrs(); len(listen) > 0 {
		fmt.Fprintf(&b, "listen = %s\n", tomlList(listen))
	}
	p := im.place()
	if !p.embedded && len(im.pythonPath) > 0 {
		im.warnf(im.pathLine, "WSGIPythonPath applies to mod_wsgi's embedded mode only, which "+
			"no mount uses; give daemon groups python-path= instead; left out")
	}
	im.writeDaemons(&b, p.used)
	if p.embedded {
		im.writeEmbedded(&b)
	}
	writeMounts(&b, p.mounts)
	for _, s := range im.static {
		fmt.Fprintf(&b, "\n# Alias on line %d\n[[static]]\nprefix = %s\ndirectory = %s\n", s.Line,
			tomlString(s.Prefix), tomlString(s.Dir))
	}
	return b.String()
}

// place gives each mount its process group (a WSGIDaemonProcess, else the embedded group),
// its application group and its callable.
func (im *importer) place() placement {
	p := placement{used: map[string]bool{}}
	for _, m := range im.mounts {
		pg := im.settingFor(m, "wsgiprocessgroup", "process-group")
		if pg == "" || pg == "%{GLOBAL}" {
			pg, p.embedded = embeddedProcessGroup, true
		} else if !im.hasDaemon(pg) {
			im.warnf(m.line, "WSGIScriptAlias %s runs in process group %q, which no "+
				"WSGIDaemonProcess defines; it goes to group %q", m.url, pg, embeddedProcessGroup)
			pg, p.embedded = embeddedProcessGroup, true
		}
		p.used[pg] = true
		appGroup := im.settingFor(m, "wsgiapplicationgroup", "application-group")
		if appGroup == "" {
			appGroup = config.AppGroupResource // mod_wsgi's default: one interpreter per script URL
		}
		p.mounts = append(p.mounts, placedMount{m: m, processGroup: pg, appGroup: appGroup,
			call: im.settingFor(m, "wsgicallableobject", "callable-object")})
	}
	return p
}

// writeDaemons writes a [group.NAME] table per WSGIDaemonProcess that a mount runs in.
func (im *importer) writeDaemons(b *strings.Builder, used map[string]bool) {
	for _, d := range im.daemons {
		if !used[d.name] {
			im.warnf(d.line, "WSGIDaemonProcess %s: no WSGIScriptAlias runs in it; left out", d.name)
			continue
		}
		fmt.Fprintf(b, "\n# WSGIDaemonProcess on line %d\n[group.%s]\n", d.line, tomlKey(d.name))
		// Daemon processes start from the Python that WSGIPythonHome chose, as mod_wsgi's do.
		if im.pythonHome != "" && !d.has("python-home") {
			d.opts = append(d.opts, importedOption{"python-home", []string{im.pythonHome}, optString})
		}
		for _, o := range d.opts {
			writeOption(b, o)
		}
	}
}

// writeEmbedded writes the embedded group, with WSGIPythonHome and WSGIPythonPath.
func (im *importer) writeEmbedded(b *strings.Builder) {
	fmt.Fprintf(b, "\n# mod_wsgi's embedded mode (no WSGIProcessGroup): one pyhost process\n[group.%s]\n", tomlKey(embeddedProcessGroup))
	if im.pythonHome != "" {
		writeOption(b, importedOption{"python-home", []string{im.pythonHome}, optString})
	}
	if len(im.pythonPath) > 0 {
		writeOption(b, importedOption{"python-path", im.pythonPath, optPathList})
	}
}

func writeMounts(b *strings.Builder, mounts []placedMount) {
	for _, pm := range mounts {
		fmt.Fprintf(b, "\n# WSGIScriptAlias on line %d\n[[mount]]\n", pm.m.line)
		fmt.Fprintf(b, "prefix = %s\napp = %s\nprocess-group = %s\napplication-group = %s\n",
			tomlString(pm.m.url), tomlString(pm.m.script), tomlString(pm.processGroup), tomlString(pm.appGroup))
		if pm.call != "" {
			fmt.Fprintf(b, "callable = %s\n", tomlString(pm.call))
		}
	}
}

func (im *importer) hasDaemon(name string) bool {
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
