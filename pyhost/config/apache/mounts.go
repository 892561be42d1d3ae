package apache

// WSGIScriptAlias and the scoped directives that apply to it: mounts and their process
// group, application group and callable.

import "strings"

// scriptAlias is a WSGIScriptAlias with its inline options: a [[mount]] of the output.
type scriptAlias struct {
	scope
	url, script string
	inline      map[string]string // process-group, application-group, callable-object
	line        int
}

// scopedSetting is a WSGIProcessGroup, WSGIApplicationGroup or WSGICallableObject, which
// applies to the mounts of its scope.
type scopedSetting struct {
	scope
	name, value string
	line        int
}

// readSetting reads a WSGIProcessGroup, WSGIApplicationGroup or WSGICallableObject.
func (im *importer) readSetting(d directive, open *sections) {
	if len(d.args) != 1 {
		im.warnf(d.line, "%s takes one argument; ignored", d.spelling)
		return
	}
	if open.ignored() {
		im.warnf(d.line, "%s inside a regex or <Files> section cannot be mapped to a URL prefix; ignored", d.spelling)
		return
	}
	if strings.HasPrefix(d.args[0], "%{ENV:") {
		im.warnf(d.line, "%s %s: chosen per request from the environment, which pyhost "+
			"does not do; ignored", d.spelling, d.args[0])
		return
	}
	im.settings = append(im.settings, scopedSetting{scope: open.scope(), name: d.name,
		value: d.args[0], line: d.line})
}

// readScriptAlias reads a WSGIScriptAlias URL SCRIPT [option=value...] of one script;
// pyhost serves every mount on every listener, so a URL is mounted once.
func (im *importer) readScriptAlias(d directive, here scope) {
	if len(d.args) < 2 {
		im.warnf(d.line, "WSGIScriptAlias takes a URL and a script; ignored")
		return
	}
	m := scriptAlias{scope: here, url: d.args[0], script: d.args[1], line: d.line,
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

// settingFor is the value of a scoped directive (name) for a mount, as Apache merges them:
// server, then VirtualHost, then <Directory> (of the script), then <Location> (of the URL),
// the most specific match last; an option on the WSGIScriptAlias line itself (inline) wins
// over all.
func (im *importer) settingFor(m scriptAlias, name, inline string) string {
	if v, ok := m.inline[inline]; ok {
		return v
	}
	best, bestRank := "", -1
	for _, s := range im.settings {
		if s.name != name || (s.vhost != -1 && s.vhost != m.vhost) {
			continue
		}
		rank, applies := im.rank(s, m)
		if applies && rank >= bestRank {
			best, bestRank = s.value, rank
		}
	}
	return best
}

// rank is how specific a setting is for a mount, if it applies to it: the server's 0, a
// VirtualHost's 1, a <Directory> holding the script 2000 and up, a <Location> holding the
// URL 3000 and up (longer paths rank higher). A <Location> inside the mount is warned about.
func (im *importer) rank(s scopedSetting, m scriptAlias) (int, bool) {
	switch s.kind {
	case "virtualhost":
		return 1, true
	case "directory":
		dir := strings.TrimRight(s.arg, "/")
		if m.script != dir && !strings.HasPrefix(m.script, dir+"/") {
			return 0, false
		}
		return 2_000 + len(dir), true
	case "location":
		loc := strings.TrimRight(s.arg, "/")
		if m.url != loc && !strings.HasPrefix(m.url, loc+"/") && loc != "" {
			if strings.HasPrefix(loc, m.url) {
				im.warnf(s.line, "%s %s in <Location %s> covers only part of the mount %s; "+
					"pyhost sets it per mount; ignored", s.name, s.value, s.arg, m.url)
			}
			return 0, false
		}
		return 3_000 + len(loc), true
	}
	return 0, true
}
