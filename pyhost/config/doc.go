// Package config owns what `pyhost serve` is told: its flags (ServeFlags, ParseServe), the
// config file (LoadFile: TOML whose every error names its line and key), the defaults
// (Config.ApplyDefaults) and the checks made before anything starts (Config.Check).
//
// A config file's process group is configured through the same flag.FlagSet as the command
// line, so every serve flag is a key of a [group.NAME] table, parsed and checked alike.
//
// The package does no I/O beyond reading the config file and looking at the paths it names
// (scripts, folders, log files), and it does not link Python: it builds with CGO_ENABLED=0.
// What the linked Python can do comes in as a gil.Build. Starting anything from a Config is
// the business of the packages above (pyhost/server, pyhost/supervisor).
//
// Three kinds of group meet here, and the names say which: an application group (AppGroup:
// the interpreter an app runs in, mod_wsgi's WSGIApplicationGroup), a process group
// (ProcessGroup: a config file's [group.NAME], mod_wsgi's WSGIDaemonProcess) and the Unix
// group the app runs as (Config.UnixGroup, --group).
//
// The sub-package apache converts mod_wsgi's Apache directives to a config file.
package config
