package worker

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The environment variables a supervisor starts a worker with; every one of them, here.
// Their names and meanings are kept from one release to the next: after the binary is
// replaced on disk, a running supervisor starts the new binary's workers.
const (
	slotVar      = "PYHOST_WORKER"           // the slot it serves in; set in workers only
	listenersVar = "PYHOST_WORKER_LISTENERS" // how many listening sockets it inherited
	groupVar     = "PYHOST_WORKER_GROUP"     // the process group it serves (config files of several)
	frontVar     = "PYHOST_WORKER_ROUTED"    // the public listeners the supervisor's front serves it on
	lifelineVar  = "PYHOST_WORKER_LIFELINE"  // the descriptor of the lifeline's read end
	controlVar   = "PYHOST_WORKER_CONTROL"   // the descriptor of its control socket
)

var allVars = [...]string{slotVar, listenersVar, groupVar, frontVar, lifelineVar, controlVar}

// Env is what a supervisor tells a worker in its environment. The supervisor fills Slot,
// Group and FrontAddrs and hands it to Attach, which fills the rest from the descriptors it
// passes; a worker reads it back with LookupEnv.
type Env struct {
	Slot       int      // its slot in its process group, 0, 1, ...: the metrics' worker label (log lines, CPU affinity)
	Group      string   // the process group it serves; "" for serve's one group
	FrontAddrs []string // the public addresses the supervisor's front serves the group on (several groups)

	// Listeners is how many listening sockets it inherits: descriptors 3, 4, ...
	Listeners int
	// Lifeline and Control are the descriptors of the lifeline's read end and of the control
	// socket; 0 when there is none (a supervisor that could not make one, or an older one).
	Lifeline, Control int
}

// Environ returns e as NAME=value entries for exec.Cmd.Env; empty fields are left out,
// except Slot, whose presence says "you are a worker".
func (e Env) Environ() []string {
	env := []string{slotVar + "=" + strconv.Itoa(e.Slot),
		listenersVar + "=" + strconv.Itoa(e.Listeners)}
	if e.Group != "" {
		env = append(env, groupVar+"="+e.Group)
	}
	if len(e.FrontAddrs) > 0 {
		env = append(env, frontVar+"="+strings.Join(e.FrontAddrs, ","))
	}
	if e.Lifeline != 0 {
		env = append(env, lifelineVar+"="+strconv.Itoa(e.Lifeline))
	}
	if e.Control != 0 {
		env = append(env, controlVar+"="+strconv.Itoa(e.Control))
	}
	return env
}

// ParseEnv reads an Env from NAME=value entries (later entries win, as in exec.Cmd.Env).
// isWorker is false when the entries do not name a slot: not a worker, and no error. err
// says which variable is malformed.
func ParseEnv(environ []string) (e Env, isWorker bool, err error) {
	vars := map[string]string{}
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vars[name] = value
		}
	}
	if vars[slotVar] == "" {
		return Env{}, false, nil
	}
	if e.Slot, err = strconv.Atoi(vars[slotVar]); err != nil || e.Slot < 0 {
		return e, true, malformed(slotVar, vars[slotVar], "a slot number")
	}
	if e.Listeners, err = strconv.Atoi(vars[listenersVar]); err != nil || e.Listeners < 1 {
		return e, true, fmt.Errorf("pyhost worker: %s=%q, want the number of inherited "+
			"listeners (workers are started by pyhost serve --processes, not by hand)",
			listenersVar, vars[listenersVar])
	}
	e.Group = vars[groupVar]
	if r := vars[frontVar]; r != "" {
		e.FrontAddrs = strings.Split(r, ",")
	}
	for _, fd := range []struct {
		name string
		to   *int
	}{{lifelineVar, &e.Lifeline}, {controlVar, &e.Control}} {
		v := vars[fd.name]
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < firstInherited {
			return e, true, malformed(fd.name, v, "a file descriptor number")
		}
		*fd.to = n
	}
	return e, true, nil
}

func malformed(name, value, want string) error {
	return fmt.Errorf("pyhost worker: %s=%q, want %s", name, value, want)
}

// LookupEnv reads this process's Env (see ParseEnv); it leaves the environment as it is.
func LookupEnv() (Env, bool, error) { return ParseEnv(os.Environ()) }

// ClearEnv removes every worker variable from this process's environment. A worker calls it
// before Python starts: the app, and any pyhost it runs, must not take itself for a worker.
func ClearEnv() {
	for _, name := range allVars {
		os.Unsetenv(name)
	}
}
