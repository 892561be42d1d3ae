package config

import "github.com/pyhost/pyhost/gil"

// Application-group patterns, as mod_wsgi's WSGIApplicationGroup spells them. An application
// group is the interpreter (or pool of interpreters) an app runs in; not to be confused with
// a process group (ProcessGroup) or the Unix group (Config.UnixGroup).
const (
	// AppGroupGlobal is the main interpreter. subinterp.Global is the same string; config
	// cannot import subinterp (it links Python), so the two are kept equal by hand.
	AppGroupGlobal   = "%{GLOBAL}"
	AppGroupServer   = "%{SERVER}"   // one per listener: its host:port
	AppGroupResource = "%{RESOURCE}" // one per listener and mount: host:port|SCRIPT_NAME
)

// defaultAppGroup is the application group used when none is named: %{GLOBAL}, where every
// extension module loads (as mod_wsgi-express does), except under --gil own, whose point is
// sub-interpreters.
func defaultAppGroup(mode gil.Mode) string {
	if mode == gil.Own {
		return AppGroupResource
	}
	return AppGroupGlobal
}

// AppGroupName resolves an application-group pattern for a listener address and a mount's
// SCRIPT_NAME: the name of the interpreter group the mount's requests run in.
func AppGroupName(pattern, listenAddr, scriptName string) string {
	switch pattern {
	case AppGroupServer:
		return listenAddr
	case AppGroupResource:
		return listenAddr + "|" + scriptName
	}
	return pattern
}
