package apache

// WSGIDaemonProcess: a process group, whose options become serve flags.

import (
	"strconv"
	"strings"
)

// daemon is a WSGIDaemonProcess: a [group.NAME] table of the output.
type daemon struct {
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

// How an option's value reads in Apache and is written in TOML.
const (
	optInt      = iota // a number, written as is
	optSeconds         // whole seconds, written as a duration
	optString          // written as a string
	optPathList        // colon-separated paths, written as a list
)

// daemonOptions are the WSGIDaemonProcess options with a pyhost serve flag.
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
	"group":              {"group", optString}, // the Unix group
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

// readDaemon reads a WSGIDaemonProcess NAME option=value...; without threads=, the group
// gets mod_wsgi's default rather than pyhost's.
func (im *importer) readDaemon(d directive) {
	if len(d.args) == 0 {
		im.warnf(d.line, "WSGIDaemonProcess without a name; ignored")
		return
	}
	g := daemon{name: d.args[0], line: d.line}
	for _, prev := range im.daemons {
		if prev.name == g.name {
			im.warnf(d.line, "WSGIDaemonProcess %s is already defined on line %d; ignored", g.name, prev.line)
			return
		}
	}
	for _, a := range d.args[1:] {
		if o, ok := im.daemonOption(g.name, d.line, a); ok {
			g.opts = append(g.opts, o)
		}
	}
	if !g.has("threads") {
		g.opts = append(g.opts, importedOption{"threads", []string{modWSGIThreads}, optInt})
	}
	im.daemons = append(im.daemons, g)
}

// daemonOption converts one option=value of WSGIDaemonProcess daemonName, or warns
// why it cannot.
func (im *importer) daemonOption(daemonName string, line int, a string) (importedOption, bool) {
	key, value, ok := strings.Cut(a, "=")
	if !ok {
		im.warnf(line, "WSGIDaemonProcess %s: %q is not an option=value; ignored", daemonName, a)
		return importedOption{}, false
	}
	opt, mapped := daemonOptions[key]
	if !mapped {
		im.warnf(line, "WSGIDaemonProcess %s: %s= has no pyhost counterpart; left out", daemonName, key)
		return importedOption{}, false
	}
	if !im.known(opt.flag) {
		im.warnf(line, "WSGIDaemonProcess %s: %s=%s: this pyhost has no --%s flag yet; left out",
			daemonName, key, value, opt.flag)
		return importedOption{}, false
	}
	var values []string
	switch opt.kind {
	case optInt, optSeconds:
		if _, err := strconv.ParseUint(value, 10, 63); err != nil {
			im.warnf(line, "WSGIDaemonProcess %s: %s=%q is not a whole number; left out", daemonName, key, value)
			return importedOption{}, false
		}
		values = []string{value}
		if opt.kind == optSeconds {
			values[0] += "s"
		}
	case optPathList:
		values = splitPathList(value)
	default:
		if key == "display-name" && value == "%{GROUP}" {
			value = "(wsgi:" + daemonName + ")" // mod_wsgi's spelling of the group's name
		}
		values = []string{value}
	}
	return importedOption{opt.flag, values, opt.kind}, true
}

func (g daemon) has(flag string) bool {
	for _, o := range g.opts {
		if o.flag == flag {
			return true
		}
	}
	return false
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
