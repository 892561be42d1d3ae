package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
	ProcessGroups []ProcessGroup
	Mounts        []FileMount
	Static        []StaticAlias
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

// GroupOption is one key of a group table: a serve flag and its values (several for a
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

// ImplicitGroup names the process group of a file that declares none: serve's defaults.
const ImplicitProcessGroup = "default"

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

// fileLoader collects the problems of one file while reading it.
type fileLoader struct {
	f     *File
	lines keyLines
	dir   string
	probs []Problem
	// mountTables: the file has [[mount]] tables, even if none is valid.
	mountTables bool
	// strayMounts: a mount names a group the file does not declare.
	strayMounts bool
}

func (l *fileLoader) problem(line int, key, format string, args ...any) {
	l.probs = append(l.probs, Problem{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
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
		case "group":
			l.readProcessGroups(doc[key])
		case "mount":
			l.mountTables = true
			l.readTables(doc[key], "mount", l.readMount)
		case "static":
			l.readTables(doc[key], "static", l.readStatic)
		default:
			hint := "the top level takes listen, metrics-listen, [group.NAME], [[mount]] and [[static]]"
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

// sortedKeys is a table's keys in the order the file has them (prefix: the table's path).
func (l *fileLoader) sortedKeys(table map[string]any, prefix ...string) []string {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li := l.lines.line(append(slices.Clone(prefix), keys[i])...)
		lj := l.lines.line(append(slices.Clone(prefix), keys[j])...)
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (l *fileLoader) readListen(v any) {
	values, ok := stringsOf(v)
	if !ok {
		l.problem(l.lines.line("listen"), "listen", "want a HOST:PORT string or a list of them")
		return
	}
	for i, addr := range values {
		line := l.lines.line("listen", strconv.Itoa(i))
		_, port, err := net.SplitHostPort(addr)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil {
			l.problem(line, "listen", "%q: want HOST:PORT, e.g. \"127.0.0.1:8000\" or \"[::1]:8000\"", addr)
			continue
		}
		l.f.Listen = append(l.f.Listen, addr)
	}
}

func (l *fileLoader) readMetricsListen(v any) {
	line := l.lines.line("metrics-listen")
	addr, ok := v.(string)
	if !ok {
		l.problem(line, "metrics-listen", "want a HOST:PORT string, e.g. \"127.0.0.1:9100\"")
		return
	}
	if err := checkMetricsListen(addr); err != nil {
		l.problem(line, "metrics-listen", "%v", err)
		return
	}
	l.f.MetricsListen = addr
}

func stringsOf(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func (l *fileLoader) readProcessGroups(v any) {
	groups, ok := v.(map[string]any)
	if !ok {
		l.problem(l.lines.line("group"), "group", "want tables, one per process group: [group.NAME]")
		return
	}
	for _, name := range l.sortedKeys(groups, "group") {
		key := "group." + name
		line := l.lines.line("group", name)
		table, ok := groups[name].(map[string]any)
		if !ok {
			l.problem(line, key, "want a table of serve options: [group.%s] with keys such as threads = 8", name)
			continue
		}
		if name == "" {
			l.problem(line, key, "a process group needs a name")
			continue
		}
		g := ProcessGroup{Name: name, Line: line}
		for _, opt := range l.sortedKeys(table, "group", name) {
			optLine := l.lines.line("group", name, opt)
			values, err := flagValues(table[opt])
			if err != nil {
				l.problem(optLine, key+"."+opt, "%v", err)
				continue
			}
			g.Options = append(g.Options, ProcessGroupOption{Key: opt, Values: values, Line: optLine})
		}
		l.f.ProcessGroups = append(l.f.ProcessGroups, g)
	}
}

// flagValues turns a TOML value into the text of one flag value each, as it would be typed.
func flagValues(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case int64:
		return []string{strconv.FormatInt(v, 10)}, nil
	case float64:
		return []string{strconv.FormatFloat(v, 'g', -1, 64)}, nil
	case bool:
		return []string{strconv.FormatBool(v)}, nil
	case []any:
		var out []string
		for _, e := range v {
			if _, nested := e.([]any); nested {
				return nil, errors.New("a list of lists: want a value or a list of values")
			}
			s, err := flagValues(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case map[string]any:
		return nil, errors.New("a table: want a value, e.g. threads = 8")
	}
	return nil, fmt.Errorf("a %T: want a string, number or boolean (durations as \"30s\")", v)
}

// readTables reads an array of tables ([[mount]], [[static]]).
func (l *fileLoader) readTables(v any, name string, read func(table map[string]any, key string, path ...string)) {
	list, ok := v.([]any)
	if !ok {
		l.problem(l.lines.line(name), name, "want [[%s]] tables", name)
		return
	}
	for i, e := range list {
		key := fmt.Sprintf("%s[%d]", name, i)
		table, ok := e.(map[string]any)
		if !ok {
			l.problem(l.lines.line(name, strconv.Itoa(i)), key, "want a table")
			continue
		}
		read(table, key, name, strconv.Itoa(i))
	}
}

// stringFields reads a table whose keys are all strings, refusing unknown keys.
func (l *fileLoader) stringFields(table map[string]any, key string, path []string, known ...string) map[string]string {
	out := map[string]string{}
	for _, k := range l.sortedKeys(table, path...) {
		line := l.lines.line(append(slices.Clone(path), k)...)
		if !slices.Contains(known, k) {
			l.problem(line, key+"."+k, "unknown key; %s takes %s", path[0], strings.Join(known, ", "))
			continue
		}
		s, ok := table[k].(string)
		if !ok {
			l.problem(line, key+"."+k, "want a string")
			continue
		}
		out[k] = s
	}
	return out
}

func (l *fileLoader) require(fields map[string]string, key string, path []string, names ...string) bool {
	ok := true
	for _, n := range names {
		if fields[n] == "" {
			l.problem(l.lines.line(path...), key, "%s is missing", n)
			ok = false
		}
	}
	return ok
}

// prefix checks a URL prefix and drops its trailing slash.
func (l *fileLoader) prefix(p, key string, path []string) (string, bool) {
	line := l.lines.line(append(slices.Clone(path), "prefix")...)
	if !strings.HasPrefix(p, "/") {
		l.problem(line, key+".prefix", "%q: a URL prefix starts with /", p)
		return "", false
	}
	if p != "/" {
		p = strings.TrimRight(p, "/")
	}
	return p, true
}

// resolve makes a relative path relative to the config file's folder.
func (l *fileLoader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

func (l *fileLoader) readMount(table map[string]any, key string, path ...string) {
	line := l.lines.line(path...)
	f := l.stringFields(table, key, path, "prefix", "app", "callable", "process-group", "application-group")
	if !l.require(f, key, path, "prefix", "app") {
		return
	}
	prefix, ok := l.prefix(f["prefix"], key, path)
	if !ok {
		return
	}
	m := FileMount{Mount: Mount{Prefix: prefix, App: f["app"], Callable: f["callable"],
		AppGroup: f["application-group"]}, ProcessGroup: f["process-group"], Line: line}
	// Scripts are files (as serve's loader tells them: a .py name or a path); modules are
	// found by Python at load time and cannot be checked here.
	if strings.HasSuffix(m.App, ".py") || strings.HasSuffix(m.App, ".wsgi") || strings.Contains(m.App, "/") {
		m.App = l.resolve(m.App)
		appLine := l.lines.line(append(slices.Clone(path), "app")...)
		if fi, err := os.Stat(m.App); err != nil {
			l.problem(appLine, key+".app", "WSGI script %s: %v", m.App, errors.Unwrap(err))
		} else if fi.IsDir() {
			l.problem(appLine, key+".app", "%s is a folder: name the WSGI script file", m.App)
		}
	}
	m.index, _ = strconv.Atoi(path[1])
	l.f.Mounts = append(l.f.Mounts, m)
}

func (l *fileLoader) readStatic(table map[string]any, key string, path ...string) {
	line := l.lines.line(path...)
	f := l.stringFields(table, key, path, "prefix", "directory")
	if !l.require(f, key, path, "prefix", "directory") {
		return
	}
	prefix, ok := l.prefix(f["prefix"], key, path)
	if !ok {
		return
	}
	dir := l.resolve(f["directory"])
	dirLine := l.lines.line(append(slices.Clone(path), "directory")...)
	if fi, err := os.Stat(dir); err != nil {
		l.problem(dirLine, key+".directory", "%s: %v", dir, errors.Unwrap(err))
	} else if !fi.IsDir() {
		l.problem(dirLine, key+".directory", "%s is not a folder", dir)
	}
	index, _ := strconv.Atoi(path[1])
	l.f.Static = append(l.f.Static, StaticAlias{Prefix: prefix, Dir: dir, Line: line, index: index})
}

// checkMounts gives each mount its process group and refuses prefixes used twice.
func (l *fileLoader) checkMounts() {
	if len(l.f.ProcessGroups) == 0 && len(l.f.Mounts) > 0 {
		l.f.ProcessGroups = []ProcessGroup{{Name: ImplicitProcessGroup}}
	}
	taken := map[string]int{}
	mounts := l.f.Mounts[:0]
	for i := range l.f.Mounts {
		m := &l.f.Mounts[i]
		key := fmt.Sprintf("mount[%d]", m.index)
		if at, dup := taken[m.Prefix]; dup {
			l.problem(l.lines.line("mount", strconv.Itoa(m.index), "prefix"), key+".prefix", "%s is already mounted on line %d", m.Prefix, at)
			continue
		}
		taken[m.Prefix] = m.Line
		switch {
		case m.ProcessGroup == "" && len(l.f.ProcessGroups) == 1:
			m.ProcessGroup = l.f.ProcessGroups[0].Name
		case m.ProcessGroup == "":
			l.problem(m.Line, key, "process-group is missing: the file declares several groups (%s)", processGroupNames(l.f.ProcessGroups))
		case l.f.processGroup(m.ProcessGroup) == nil:
			l.strayMounts = true
			l.problem(l.lines.line("mount", strconv.Itoa(m.index), "process-group"), key+".process-group",
				"%q is not declared: add a [group.%s] table or use one of %s", m.ProcessGroup, m.ProcessGroup, processGroupNames(l.f.ProcessGroups))
		}
		mounts = append(mounts, *m)
	}
	l.f.Mounts = mounts
	for _, s := range l.f.Static {
		if at, dup := taken[s.Prefix]; dup {
			l.problem(l.lines.line("static", strconv.Itoa(s.index), "prefix"), fmt.Sprintf("static[%d].prefix", s.index), "%s is already used on line %d", s.Prefix, at)
		}
		taken[s.Prefix] = s.Line
	}
	if !l.mountTables {
		l.problem(0, "", "nothing to serve: add a [[mount]] with a prefix and an app")
	}
}

func processGroupNames(groups []ProcessGroup) string {
	var names []string
	for _, g := range groups {
		names = append(names, strconv.Quote(g.Name))
	}
	return strings.Join(names, ", ")
}

// configureProcessGroups sets each group's options through serve's flags and validates the result.
func (l *fileLoader) configureProcessGroups(build gil.Build) {
	for i := range l.f.ProcessGroups {
		g := &l.f.ProcessGroups[i]
		key := "group." + g.Name
		fs := ServeFlags(&g.Config, io.Discard)
		l.probs = append(l.probs, g.applyOptions(fs, nil)...)
		g.Config.Listen = slices.Clone(l.f.Listen)
		for _, m := range l.f.Mounts {
			if m.ProcessGroup == g.Name {
				g.Config.Mounts = append(g.Config.Mounts, m.Mount)
			}
		}
		check := &g.Config
		if len(g.Config.Mounts) == 0 {
			if g.Line != 0 && !l.strayMounts { // (the implicit group's mounts are reported)
				l.problem(g.Line, key, "no [[mount]] runs in this group: mount an app with process-group = %q, or remove the group", g.Name)
			}
			// Its options are still checked, as if it served an app.
			unused := g.Config
			unused.App = "unused"
			check = &unused
		}
		if err := check.Validate(build); err != nil {
			line, optKey := g.Line, key
			// serve's checks name the flag they refuse: point at that key when the file has it.
			if name, ok := strings.CutPrefix(err.Error(), "--"); ok {
				name, _, _ = strings.Cut(name, " ")
				name = strings.TrimSuffix(name, ":")
				if o := g.option(name); o != nil {
					line, optKey = o.Line, key+"."+name
				}
			}
			l.problem(line, optKey, "%v", err)
		}
	}
}

func (g *ProcessGroup) option(key string) *ProcessGroupOption {
	for i := range g.Options {
		if g.Options[i].Key == key {
			return &g.Options[i]
		}
	}
	return nil
}

// keysOutsideGroups are serve flags that a config file spells another way.
var keysOutsideProcessGroups = map[string]string{
	"listen": "listen is the server's: put it at the top of the file, before any table",
	"metrics-listen": "metrics-listen is the server's (the supervisor serves every group's " +
		"metrics on it): put it at the top of the file, before any table",
	"mount":  "mounts are [[mount]] tables with prefix, app and process-group",
	"config": "a config file cannot name another one",
	"static": "static aliases are [[static]] tables with prefix and directory",
}

// applyOptions sets the group's options on serve's flags, skipping the flags in skip (given
// on the command line); it returns a problem per option refused.
func (g *ProcessGroup) applyOptions(fs *flag.FlagSet, skip map[string]bool) []Problem {
	var probs []Problem
	key := "group." + g.Name
	for _, o := range g.Options {
		if skip[o.Key] {
			continue
		}
		bad := func(format string, args ...any) {
			probs = append(probs, Problem{Line: o.Line, Key: key + "." + o.Key, Msg: fmt.Sprintf(format, args...)})
		}
		if why, ok := keysOutsideProcessGroups[o.Key]; ok {
			bad("not a group option: %s", why)
			continue
		}
		f := fs.Lookup(o.Key)
		if f == nil {
			hint := "`pyhost help` lists serve's flags, which are the keys of a group"
			if alt := strings.ReplaceAll(o.Key, "_", "-"); fs.Lookup(alt) != nil {
				hint = "did you mean " + alt + "?"
			}
			bad("unknown key: pyhost serve has no --%s flag; %s", o.Key, hint)
			continue
		}
		if _, repeatable := f.Value.(*StringList); len(o.Values) != 1 && !repeatable {
			bad("takes one value, not a list of %d", len(o.Values))
			continue
		}
		for _, v := range o.Values {
			if err := fs.Set(o.Key, v); err != nil {
				bad("%q: %v%s (--%s: %s)", v, err, valueKind(f), o.Key, f.Usage)
				break
			}
		}
	}
	return probs
}

// valueKind says what a flag takes, from the type of its value ("" when its usage says it).
func valueKind(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case time.Duration:
			return `; want a duration such as "30s" or "2m"`
		case int, int64, uint, uint64:
			return "; want a whole number"
		case bool:
			return "; want true or false"
		}
	}
	switch f.Value.(type) {
	case byteSize, intSize:
		return `; want a size such as 1048576 or "10MiB"`
	}
	return ""
}
