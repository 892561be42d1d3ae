package config

// serve --config FILE: the file's process groups, with the flags given beside it.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pyhost/pyhost/gil"
)

// cutConfigFlag finds --config FILE (or -config, =FILE) among serve's arguments and returns
// the file and the other arguments.
func cutConfigFlag(args []string) (path string, rest []string, found bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 == len(args) {
				return "", nil, true, errors.New("--config needs a FILE")
			}
			i++
			value = args[i]
		}
		if found {
			return "", nil, true, errors.New("--config given twice: one file describes the server")
		}
		path, found = value, true
	}
	return path, rest, found, nil
}

// parseServeConfig is serve with --config FILE for a file of one process group (several:
// ErrSeveralProcessGroups: see ParseServeProcessGroups), whose static aliases its workers serve.
func parseServeConfig(args []string, stderr io.Writer, build gil.Build) (cfg Config, found bool, err error) {
	f, cfgs, found, err := ParseServeProcessGroups(args, stderr, build)
	if !found || err != nil {
		return cfg, found, err
	}
	if len(cfgs) > 1 {
		return cfg, true, ErrSeveralProcessGroups
	}
	cfg = cfgs[0]
	cfg.Static = append(cfg.Static, f.Static...)
	return cfg, true, cfg.Validate(build)
}

// ErrSeveralProcessGroups tells serve that the file needs the supervisor's router.
var ErrSeveralProcessGroups = errors.New("the config file declares several process groups")

// ParseServeProcessGroups is serve with --config FILE: the file and one configuration per process
// group. The file sets the server; flags given beside it override the file's value of the
// same key in every group (all of it, for repeatable flags such as --listen and
// --python-path), as command lines override config files in gunicorn and uWSGI. What to
// serve comes from the file alone: an APP argument or --mount is refused.
func ParseServeProcessGroups(args []string, stderr io.Writer, build gil.Build) (f *File, cfgs []Config, found bool, err error) {
	path, rest, found, err := cutConfigFlag(args)
	if !found || err != nil {
		return nil, nil, found, err
	}
	f, err = LoadFile(path, build)
	if err != nil {
		return nil, nil, true, err
	}
	for i := range f.ProcessGroups {
		cfg, err := processGroupConfig(f, &f.ProcessGroups[i], path, rest, stderr, build)
		if err != nil {
			return nil, nil, true, err
		}
		cfgs = append(cfgs, cfg)
	}
	return f, cfgs, true, nil
}

func processGroupConfig(f *File, g *ProcessGroup, path string, rest []string, stderr io.Writer, build gil.Build) (cfg Config, err error) {
	var probe Config
	given := map[string]bool{}
	probeFlags := ServeFlags(&probe, io.Discard)
	if positional, err := ParseInterspersed(probeFlags, rest); err == nil {
		if len(probe.Mounts) > 0 {
			positional = append(positional, "--mount")
		}
		if len(positional) > 0 {
			return cfg, fmt.Errorf("pyhost serve --config %s: the file's [[mount]] tables "+
				"say what to serve; add the app there instead of on the command line (%s)",
				path, strings.Join(positional, " "))
		}
		probeFlags.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	}
	fs := ServeFlags(&cfg, stderr)
	if probs := g.applyOptions(fs, given); len(probs) > 0 {
		return cfg, &FileError{Path: path, Problems: probs}
	}
	if !given["listen"] {
		cfg.Listen = f.Listen
	}
	if !given["metrics-listen"] {
		cfg.MetricsListen = f.MetricsListen
	}
	if !given["pid-file"] {
		cfg.PidFile = f.PidFile
	}
	if !given["trusted-proxy"] {
		cfg.TrustedProxies = f.TrustedProxies.clone()
	}
	if _, err := ParseInterspersed(fs, rest); err != nil {
		return cfg, err
	}
	cfg.ProcessGroup = g.Name
	for _, m := range f.Mounts {
		if m.ProcessGroup == g.Name {
			cfg.Mounts = append(cfg.Mounts, m.Mount)
		}
	}
	return cfg, cfg.Validate(build)
}
