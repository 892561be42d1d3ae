package config

// serve --config FILE: the file's process groups, with the flags given beside it.

import (
	"errors"
	"fmt"
	"io"
	"os"
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
func parseServeConfig(args, environ []string, stderr io.Writer, build gil.Build) (cfg Config, got origins, found bool, err error) {
	f, cfgs, gots, found, err := parseProcessGroups(args, environ, stderr, build)
	if !found || err != nil {
		return cfg, nil, found, err
	}
	if len(cfgs) > 1 {
		return cfg, nil, true, ErrSeveralProcessGroups
	}
	cfg = cfgs[0]
	cfg.Static = append(cfg.Static, f.Static...)
	return cfg, gots[0], true, cfg.Validate(build)
}

// ErrSeveralProcessGroups tells serve that the file needs the supervisor's router.
var ErrSeveralProcessGroups = errors.New("the config file declares several process groups")

// ParseServeProcessGroups is serve with --config FILE (or PYHOST_CONFIG=FILE): the file and
// one configuration per process group. The file sets the server; flags given beside it, and
// PYHOST_ variables, override the file's value of the same key in every group (all of it,
// for repeatable flags such as --listen and --python-path), as command lines override
// config files in gunicorn and uWSGI; a flag beats a variable. What to serve comes from the
// file alone: an APP argument or --mount is refused.
func ParseServeProcessGroups(args []string, stderr io.Writer, build gil.Build) (f *File, cfgs []Config, found bool, err error) {
	f, cfgs, _, found, err = parseProcessGroups(args, os.Environ(), stderr, build)
	return f, cfgs, found, err
}

// configFile is the config file serve is told of: --config FILE, else $PYHOST_CONFIG; named
// says how, for messages.
func configFile(args, environ []string) (path string, rest []string, named string, found bool, err error) {
	path, rest, found, err = cutConfigFlag(args)
	if found || err != nil {
		return path, rest, "--config " + path, found, err
	}
	if path = lookupEnv(environ, EnvConfig); path != "" {
		return path, args, EnvConfig + "=" + path, true, nil
	}
	return "", args, "", false, nil
}

func parseProcessGroups(args, environ []string, stderr io.Writer, build gil.Build) (f *File, cfgs []Config, gots []origins, found bool, err error) {
	path, rest, named, found, err := configFile(args, environ)
	if !found || err != nil {
		return nil, nil, nil, found, err
	}
	f, err = LoadFile(path, build)
	if err != nil {
		return nil, nil, nil, true, err
	}
	for i := range f.ProcessGroups {
		cfg, got, err := processGroupConfig(f, &f.ProcessGroups[i], named, rest, environ, stderr, build)
		if err != nil {
			return nil, nil, nil, true, err
		}
		cfgs, gots = append(cfgs, cfg), append(gots, got)
	}
	return f, cfgs, gots, true, nil
}

// processGroupConfig is one group's configuration: serve's defaults, the group's options
// and the file's listeners, then the environment's values, then the command line's.
func processGroupConfig(f *File, g *ProcessGroup, named string, rest, environ []string, stderr io.Writer, build gil.Build) (cfg Config, got origins, err error) {
	cl, positional, clErr := readCommandLine(rest)
	if clErr == nil {
		if cl["mount"] != nil {
			positional = append(positional, "--mount")
		}
		if len(positional) > 0 {
			return cfg, nil, fmt.Errorf("pyhost serve %s: the file's [[mount]] tables "+
				"say what to serve; add the app there instead of on the command line (%s)",
				named, strings.Join(positional, " "))
		}
	}
	fs := ServeFlags(&cfg, stderr)
	env, _, err := readEnv(fs, environ)
	if err != nil {
		return cfg, nil, err
	}
	if env["mount"] != nil {
		return cfg, nil, fmt.Errorf("pyhost serve %s: the file's [[mount]] tables say what "+
			"to serve; add %s's there instead", named, EnvVar("mount"))
	}
	given := env.under(cl)
	if probs := g.applyOptions(fs, given); len(probs) > 0 {
		return cfg, nil, &FileError{Path: f.Path, Problems: probs}
	}
	got = g.origins(f.Path, given)
	if given["listen"] == nil {
		cfg.Listen = f.Listen
		if len(f.Listen) > 0 {
			got["listen"] = &origin{from: fmt.Sprintf("%s:%d", f.Path, f.ListenLine), values: f.Listen}
		}
	}
	if given["metrics-listen"] == nil {
		cfg.MetricsListen = f.MetricsListen
		if f.MetricsListen != "" {
			got["metrics-listen"] = &origin{from: fmt.Sprintf("%s:%d", f.Path, f.MetricsListenLine),
				values: []string{f.MetricsListen}}
		}
	}
	if given["pid-file"] == nil {
		cfg.PidFile = f.PidFile
	}
	if given["trusted-proxy"] == nil {
		cfg.TrustedProxies = f.TrustedProxies.clone()
	}
	if err := env.apply(fs, cl); err != nil {
		return cfg, nil, err
	}
	if _, err := ParseInterspersed(fs, rest); err != nil {
		return cfg, nil, err
	}
	got = got.under(given)
	cfg.ProcessGroup = g.Name
	for _, m := range f.Mounts {
		if m.ProcessGroup == g.Name {
			cfg.Mounts = append(cfg.Mounts, m.Mount)
		}
	}
	return cfg, got, cfg.Validate(build)
}
