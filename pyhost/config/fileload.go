package config

// Reading a config file's tables: the top-level keys, [[mount]] and [[static]], each
// problem with its line and key.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

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
	l.f.ListenLine = l.lines.line("listen")
	values, ok := stringsOf(v)
	if !ok {
		l.problem(l.lines.line("listen"), "listen", "want a HOST:PORT or unix:PATH string or a list of them")
		return
	}
	for i, addr := range values {
		line := l.lines.line("listen", strconv.Itoa(i))
		if err := CheckListen(addr); err != nil {
			l.problem(line, "listen", "%s", err)
			continue
		}
		l.f.Listen = append(l.f.Listen, addr)
	}
}

func (l *fileLoader) readMetricsListen(v any) {
	line := l.lines.line("metrics-listen")
	l.f.MetricsListenLine = line
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

// readPidFile reads the top-level pid-file key (a relative path is the config file's folder's).
func (l *fileLoader) readPidFile(v any) {
	path, ok := v.(string)
	if !ok || path == "" {
		l.problem(l.lines.line("pid-file"), "pid-file", "want a path, e.g. \"/run/pyhost.pid\"")
		return
	}
	l.f.PidFile = l.resolve(path)
}

func (l *fileLoader) readTrustedProxies(v any) {
	values, ok := stringsOf(v)
	if !ok {
		l.problem(l.lines.line("trusted-proxy"), "trusted-proxy",
			"want a CIDR or IP address string or a list of them, e.g. [\"10.0.0.0/8\", \"127.0.0.1\"]")
		return
	}
	for i, s := range values {
		if err := l.f.TrustedProxies.Set(s); err != nil {
			l.problem(l.lines.line("trusted-proxy", strconv.Itoa(i)), "trusted-proxy", "%v", err)
		}
	}
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
	if err := checkAppGroup(m.AppGroup); err != nil {
		l.problem(l.lines.line(append(slices.Clone(path), "application-group")...),
			key+".application-group", "%v", err)
		m.AppGroup = "" // reported here, with its line, not again by the group's checks
	}
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
	if g := l.f.processGroup(RouterProcessGroup); g != nil && len(l.f.ProcessGroups) > 1 {
		l.problem(g.Line, "group."+g.Name, "%q is the name under which the supervisor's router "+
			"counts and logs the requests it answers itself: rename the group", g.Name)
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
