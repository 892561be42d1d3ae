package config

// A config file's process groups: their tables read, their options set through serve's
// flags, and each group's configuration checked as serve checks its own.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pyhost/pyhost/gil"
)

// readProcessGroups reads the [group.NAME] tables: each key a serve flag, with its values as
// flag text (configureProcessGroups sets them).
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

// processGroupNames lists the groups' names, quoted, for messages.
func processGroupNames(groups []ProcessGroup) string {
	var names []string
	for _, g := range groups {
		names = append(names, strconv.Quote(g.Name))
	}
	return strings.Join(names, ", ")
}

// configureProcessGroups gives each group its serve configuration: serve's flags set from
// the group's options, the file's listeners and the group's mounts, then the defaults; and
// checks it as serve checks its own.
func (l *fileLoader) configureProcessGroups(build gil.Build) {
	for i := range l.f.ProcessGroups {
		g := &l.f.ProcessGroups[i]
		fs := ServeFlags(&g.Config, io.Discard)
		l.probs = append(l.probs, g.applyOptions(fs, nil)...)
		g.Config.Listen = slices.Clone(l.f.Listen)
		g.Config.TrustedProxies = l.f.TrustedProxies.clone()
		for _, m := range l.f.Mounts {
			if m.ProcessGroup == g.Name {
				g.Config.Mounts = append(g.Config.Mounts, m.Mount)
			}
		}
		g.Config.ApplyDefaults()
		checked := g.Config
		if len(g.Config.Mounts) == 0 {
			if g.Line != 0 && !l.strayMounts { // (the implicit group's mounts are reported)
				l.problem(g.Line, "group."+g.Name, "no [[mount]] runs in this group: mount an app with process-group = %q, or remove the group", g.Name)
			}
			// Its options are still checked, as if it served an app.
			checked.App = "unused"
		}
		if err := checked.Check(build); err != nil {
			line, key := g.placeOf(err)
			l.problem(line, key, "%v", err)
		}
	}
}

// placeOf is where a check's error belongs in the file: serve's checks name the flag they
// refuse ("--threads 0: ..."), so the line and key of that option when the group has it,
// else the group's table.
func (g *ProcessGroup) placeOf(err error) (line int, key string) {
	line, key = g.Line, "group."+g.Name
	if name, ok := strings.CutPrefix(err.Error(), "--"); ok {
		name, _, _ = strings.Cut(name, " ")
		name = strings.TrimSuffix(name, ":")
		if o := g.option(name); o != nil {
			line, key = o.Line, key+"."+name
		}
	}
	return line, key
}

func (g *ProcessGroup) option(key string) *ProcessGroupOption {
	for i := range g.Options {
		if g.Options[i].Key == key {
			return &g.Options[i]
		}
	}
	return nil
}

// keysOutsideProcessGroups are serve flags that a config file spells another way.
var keysOutsideProcessGroups = map[string]string{
	"listen": "listen is the server's: put it at the top of the file, before any table",
	"metrics-listen": "metrics-listen is the server's (the supervisor serves every group's " +
		"metrics on it): put it at the top of the file, before any table",
	"pid-file": "pid-file is the server's (the supervisor's pid): put it at the top of the " +
		"file, before any table",
	"trusted-proxy": "trusted-proxy is the server's (the proxy is in front of the listeners): " +
		"put it at the top of the file, before any table",
	"mount":  "mounts are [[mount]] tables with prefix, app and process-group",
	"config": "a config file cannot name another one",
	"static": "static aliases are [[static]] tables with prefix and directory",
}

// applyOptions sets the group's options on serve's flags, skipping the flags in skip (given
// on the command line); it returns a problem per option refused.
func (g *ProcessGroup) applyOptions(fs *flag.FlagSet, skip origins) []Problem {
	var probs []Problem
	key := "group." + g.Name
	for _, o := range g.Options {
		if skip[o.Key] != nil {
			continue
		}
		bad := func(format string, args ...any) {
			probs = append(probs, Problem{Line: o.Line, Key: key + "." + o.Key, Msg: fmt.Sprintf(format, args...)})
		}
		if why, ok := keysOutsideProcessGroups[o.Key]; ok {
			bad("not a group option: %s", why)
			continue
		}
		if name, ok := aliases[o.Key]; ok {
			where := ""
			if why, ok := keysOutsideProcessGroups[name]; ok {
				where = " (" + why + ")"
			}
			bad("--%s is the command line's alias of --%s; a config file uses the flag's "+
				"own name: %s%s", o.Key, name, name, where)
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

// origins are the group's options, each from its line of the file, less those in skip.
func (g *ProcessGroup) origins(path string, skip origins) origins {
	got := origins{}
	for _, o := range g.Options {
		if skip[o.Key] == nil {
			got[o.Key] = &origin{from: fmt.Sprintf("%s:%d", path, o.Line), values: o.Values}
		}
	}
	return got
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
