package config

import (
	"fmt"
	"strings"

	"github.com/pyhost/pyhost/gil"
)

// Application-group patterns, as mod_wsgi's WSGIApplicationGroup spells them. An application
// group is the interpreter (or pool of interpreters) an app runs in; not to be confused with
// a process group (ProcessGroup) or the Unix group (Config.UnixGroup).
const (
	// AppGroupGlobal is the main interpreter. subinterp.Global is the same string; config
	// cannot import subinterp (it links Python), so the two are kept equal by hand.
	AppGroupGlobal   = "%{GLOBAL}"
	AppGroupServer   = "%{SERVER}"   // one per listener: its host:port
	AppGroupResource = "%{RESOURCE}" // one per listener and mount: host:port|SCRIPT_NAME
	// AppGroupAuto places each mount's app in the most isolated interpreter its extension
	// modules allow: a %{RESOURCE} group of sub-interpreters, or %{GLOBAL} (subinterp.Placements).
	// A plain word, not a %{...} pattern: it names a policy, not an interpreter, and it is
	// what users type; a sub-interpreter group can no longer be called "auto".
	AppGroupAuto = "auto"
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
	case AppGroupResource, AppGroupAuto:
		return listenAddr + "|" + scriptName
	}
	return pattern
}

// checkAppGroup refuses a %{...} pattern pyhost does not know: a typo such as %{GLOBALS}
// would otherwise name a sub-interpreter of that name, silently, where %{GLOBAL} (the main
// interpreter) was meant.
func checkAppGroup(pattern string) error {
	if !strings.Contains(pattern, "%{") {
		return nil
	}
	switch pattern {
	case AppGroupGlobal, AppGroupServer, AppGroupResource:
		return nil
	}
	hint := ""
	word := strings.ToUpper(strings.Trim(pattern, "%{} "))
	for _, known := range []string{AppGroupGlobal, AppGroupServer, AppGroupResource} {
		name := strings.Trim(known, "%{}")
		if strings.HasPrefix(word, name) || (len(word) >= 3 && strings.HasPrefix(name, word)) {
			hint = "did you mean " + known + "? "
		}
	}
	if strings.HasPrefix(word, "ENV:") {
		hint = "mod_wsgi's %{ENV:NAME} is not supported: name the group itself. "
	}
	return fmt.Errorf("unknown application group %s: %sthe patterns are %s (the main "+
		"interpreter), %s (one per listener), %s (one per listener and mount) and %s (the "+
		"most isolated interpreter the app's extension modules allow); a name without %%{ is "+
		"a sub-interpreter of that name", pattern, hint, AppGroupGlobal,
		AppGroupServer, AppGroupResource, AppGroupAuto)
}
