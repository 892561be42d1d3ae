package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/pyhost/pyhost/gil"
)

// File is a config file (--config FILE, check-config): what a server is. It declares
// listeners, process groups (mod_wsgi's WSGIDaemonProcess), mounts (WSGIScriptAlias with
// WSGIProcessGroup and WSGIApplicationGroup) and static aliases (Alias).
//
// A process group's options are serve's own flags, spelled as keys: `threads = 8` in a group
// table is `--threads 8` for that group, set through the same flag.FlagSet that serve
// parses. So every flag serve gains is a config key at once, with the same parsing and checks.
type File struct {
	Path   string
	Listen []string // HOST:PORT; empty: serve's default
	// MetricsListen is the top-level metrics-listen key: the server's --metrics-listen.
	MetricsListen string
	// PidFile is the top-level pid-file key: the server's --pid-file.
	PidFile string
	// TrustedProxies is the top-level trusted-proxy key: the server's --trusted-proxy.
	TrustedProxies TrustedProxies
	ProcessGroups  []ProcessGroup
	Mounts         []FileMount
	Static         []StaticAlias

	// ListenLine and MetricsListenLine are the lines of those keys (0: not in the file).
	ListenLine, MetricsListenLine int
}

// ProcessGroup is one [group.NAME] table.
type ProcessGroup struct {
	Name    string
	Line    int
	Options []ProcessGroupOption // in the order written
	// Config is the group's whole serve configuration, validated: serve's defaults, then
	// Options, the file's listeners and the group's mounts. A worker of this group runs it.
	Config Config
}

// ProcessGroupOption is one key of a [group.NAME] table: a serve flag and its values (several for a
// repeatable flag such as python-path).
type ProcessGroupOption struct {
	Key    string
	Values []string
	Line   int
}

// FileMount is one [[mount]] table.
type FileMount struct {
	Mount               // Prefix, App (scripts resolved against the file's folder), Callable, AppGroup
	ProcessGroup string // the [group.NAME] it runs in
	Line         int
	index        int // among the file's [[mount]] tables, for error keys
}

// StaticAlias is one [[static]] table: files under Dir served at Prefix by Go, no Python.
type StaticAlias struct {
	Prefix string
	Dir    string
	Line   int
	index  int // among the file's [[static]] tables, for error keys
}

// ImplicitProcessGroup names the process group of a file that declares none, and of serve's
// command line without a config file: serve's defaults.
const ImplicitProcessGroup = "default"

// RouterProcessGroup is the process_group under which the supervisor's router (several
// process groups) counts and logs the requests it answers itself: static files, paths no
// mount covers, a group with no worker ready. A file of several groups cannot name one so.
const RouterProcessGroup = "router"

// ProcessGroupName is the one name a process group goes by everywhere (the pyhost module,
// environ, metrics, access log, logs, /debug/threads): its name, or ImplicitProcessGroup for
// serve's command line ("").
func ProcessGroupName(name string) string {
	if name == "" {
		return ImplicitProcessGroup
	}
	return name
}

// FileError lists every problem of a config file, each with its line and key.
type FileError struct {
	Path     string
	Problems []Problem
}

// Problem is one thing wrong at one place of a config file.
type Problem struct {
	Line int    // 1-based; 0 when the problem has no place
	Key  string // dotted path, e.g. group.site.threads or mount[1].app
	Msg  string
}

func (e *FileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "%s:%d: ", e.Path, p.Line)
		} else {
			fmt.Fprintf(&b, "%s: ", e.Path)
		}
		if p.Key != "" {
			fmt.Fprintf(&b, "%s: ", p.Key)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// LoadFile reads and checks a config file; build is the linked Python (GIL modes are
// checked against it). The error is a *FileError naming every problem's line and key.
func LoadFile(path string, build gil.Build) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	return parseFile(path, data, build)
}

func parseFile(path string, data []byte, build gil.Build) (*File, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &FileError{Path: path, Problems: []Problem{{Line: line,
				Key: strings.Join(de.Key(), "."),
				Msg: fmt.Sprintf("TOML syntax (column %d): %s", col, strings.TrimPrefix(de.Error(), "toml: "))}}}
		}
		return nil, &FileError{Path: path, Problems: []Problem{{Msg: err.Error()}}}
	}
	l := &fileLoader{f: &File{Path: path}, lines: indexKeyLines(data), dir: filepath.Dir(path)}
	for _, key := range l.sortedKeys(doc) {
		switch key {
		case "listen":
			l.readListen(doc[key])
		case "metrics-listen":
			l.readMetricsListen(doc[key])
		case "pid-file":
			l.readPidFile(doc[key])
		case "trusted-proxy":
			l.readTrustedProxies(doc[key])
		case "group":
			l.readProcessGroups(doc[key])
		case "mount":
			l.mountTables = true
			l.readTables(doc[key], "mount", l.readMount)
		case "static":
			l.readTables(doc[key], "static", l.readStatic)
		default:
			hint := "the top level takes listen, metrics-listen, pid-file, trusted-proxy, " +
				"[group.NAME], [[mount]] and [[static]]"
			if ServeFlags(&Config{}, io.Discard).Lookup(key) != nil {
				hint = key + " is a process-group option: put it in a [group.NAME] table"
			}
			l.problem(l.lines.line(key), key, "unknown key; %s", hint)
		}
	}
	l.checkMounts()
	l.configureProcessGroups(build)
	if len(l.probs) > 0 {
		sort.SliceStable(l.probs, func(i, j int) bool { return l.probs[i].Line < l.probs[j].Line })
		return nil, &FileError{Path: path, Problems: l.probs}
	}
	return l.f, nil
}

// Summary writes what the file declares, one line per listener, group, mount and alias.
func (f *File) Summary(w io.Writer) {
	fmt.Fprintf(w, "%s: valid\n", f.Path)
	listen := f.Listen
	if len(listen) == 0 {
		listen = []string{DefaultListen + " (default)"}
	}
	fmt.Fprintf(w, "listeners: %s\n", strings.Join(listen, ", "))
	if f.MetricsListen != "" {
		fmt.Fprintf(w, "metrics: http://%s/metrics (and /healthz, /readyz)\n", f.MetricsListen)
	}
	for _, g := range f.ProcessGroups {
		var opts []string
		for _, o := range g.Options {
			opts = append(opts, o.Key+"="+strings.Join(o.Values, ","))
		}
		if len(opts) == 0 {
			opts = []string{"serve's defaults"}
		}
		fmt.Fprintf(w, "group %s: %s\n", g.Name, strings.Join(opts, " "))
	}
	for _, m := range f.Mounts {
		app := m.App
		if m.Callable != "" {
			app += " (callable " + m.Callable + ")"
		}
		appGroup := m.AppGroup
		if appGroup == "" {
			appGroup = f.processGroup(m.ProcessGroup).Config.AppGroup
		}
		fmt.Fprintf(w, "mount %s -> %s in group %s, application group %s\n", m.Prefix, app,
			m.ProcessGroup, appGroup)
	}
	for _, s := range f.Static {
		fmt.Fprintf(w, "static %s -> %s\n", s.Prefix, s.Dir)
	}
	if len(f.ProcessGroups) > 1 {
		fmt.Fprintf(w, "note: %d process groups: the supervisor accepts on the listeners and "+
			"routes each request to its group's workers (static aliases it serves itself)\n",
			len(f.ProcessGroups))
	}
}

func (f *File) processGroup(name string) *ProcessGroup {
	for i := range f.ProcessGroups {
		if f.ProcessGroups[i].Name == name {
			return &f.ProcessGroups[i]
		}
	}
	return nil
}
