package config

// serve's flags from the environment, as containers configure servers: --max-body-size is
// PYHOST_MAX_BODY_SIZE. Every flag of serve's FlagSet has one, read by walking the FlagSet,
// so a flag added there has its variable at once.

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
)

// EnvPrefix begins the environment variable of each serve flag.
const EnvPrefix = "PYHOST_"

// EnvConfig is the variable that names a config file when no --config is given.
const EnvConfig = EnvPrefix + "CONFIG"

// EnvVar is the environment variable of serve's flag name: PYHOST_ and the name in upper
// case with dashes as underscores.
func EnvVar(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// envReserved says whether a PYHOST_ variable belongs to something else than serve's flags:
// the supervisor ↔ worker protocol (pyhost/worker: PYHOST_WORKER, PYHOST_WORKER_*) and the
// test suite (PYHOST_TEST_*).
func envReserved(name string) bool {
	return name == "PYHOST_WORKER" || strings.HasPrefix(name, "PYHOST_WORKER_") ||
		strings.HasPrefix(name, "PYHOST_TEST_")
}

// commandLineOnly are flags that say what serve does rather than how it serves; they have
// no variable.
var commandLineOnly = map[string]bool{"print-config": true, "help": true, "h": true}

// origin is where a flag's value came from, and the values as they were given there.
type origin struct {
	from   string   // "flag --threads", "env PYHOST_THREADS", "pyhost.toml:12", "argument"
	values []string // each as given to the flag's Set
}

// origins are the values set on serve's flags, by the flag's own name.
type origins map[string]*origin

// isRepeatable says whether a flag takes several values (each given once): a StringList, or
// a flag whose usage says it is repeatable.
func isRepeatable(f *flag.Flag) bool {
	_, list := f.Value.(*StringList)
	return list || strings.Contains(f.Usage, "repeatable")
}

// envFlag is the flag a variable sets ("" and false when it is not one of serve's).
func envFlag(fs *flag.FlagSet, name string) (string, bool) {
	flagName, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || flagName != strings.ToUpper(flagName) {
		return "", false
	}
	flagName = strings.ToLower(strings.ReplaceAll(flagName, "_", "-"))
	f := fs.Lookup(flagName)
	if f == nil || aliases[flagName] != "" || misnomers[flagName] != "" || commandLineOnly[flagName] {
		return "", false
	}
	return flagName, true
}

// readEnv reads the values environ (NAME=value entries) gives serve's flags in fs. A
// repeatable flag's variable holds its values separated by white space (PYHOST_LISTEN=
// "0.0.0.0:8000 [::]:8000"); an empty variable counts as unset. A PYHOST_ variable that is
// not a flag's but looks like a misspelt one, an alias or a misnomer is an error: a setting
// that silently does nothing is worse than a server that does not start. Other PYHOST_
// variables are left alone (ignored lists them): they may be a script's own.
func readEnv(fs *flag.FlagSet, environ []string) (got origins, ignored []string, err error) {
	got = origins{}
	var errs []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || envReserved(name) || name == EnvConfig || value == "" {
			continue
		}
		flagName, ok := envFlag(fs, name)
		if !ok {
			if why := envMistake(fs, name); why != "" {
				errs = append(errs, fmt.Sprintf("%s=%s: %s", name, value, why))
			} else {
				ignored = append(ignored, name)
			}
			continue
		}
		o := &origin{from: "env " + name, values: []string{value}}
		f := fs.Lookup(flagName)
		if isRepeatable(f) {
			o.values = strings.Fields(value)
		} else if isBoolFlag(f) {
			o.values = []string{envBool(value)}
		}
		got[flagName] = o
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, nil, errors.New(strings.Join(errs, "\n"))
	}
	slices.Sort(ignored)
	return got, ignored, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// envBool also reads yes/no and on/off, as the environment of containers often says them.
func envBool(v string) string {
	switch strings.ToLower(v) {
	case "yes", "on", "y":
		return "true"
	case "no", "off", "n":
		return "false"
	}
	return v
}

// envMistake says what is wrong with a PYHOST_ variable that names no flag, when it looks
// meant as one ("" when it does not).
func envMistake(fs *flag.FlagSet, name string) string {
	raw := strings.TrimPrefix(name, EnvPrefix)
	flagName := strings.ToLower(strings.ReplaceAll(raw, "_", "-"))
	if canon, ok := aliases[flagName]; ok {
		return fmt.Sprintf("--%s is the command line's alias of --%s; PYHOST_ variables use "+
			"the flag's own name: %s", flagName, canon, EnvVar(canon))
	}
	if why, ok := misnomers[flagName]; ok {
		return why
	}
	if commandLineOnly[flagName] {
		return fmt.Sprintf("--%s is a command-line flag only", flagName)
	}
	if near := nearestFlag(fs, flagName); near != "" {
		return fmt.Sprintf("pyhost serve has no --%s flag; did you mean %s? (`pyhost help` "+
			"lists the flags; each is PYHOST_ and its name in upper case, dashes as underscores)",
			flagName, EnvVar(near))
	}
	return ""
}

// nearestFlag is the flag a name looks like a misspelling of: the same but for case, dashes
// or a letter or two (one for short names), or a flag's name cut short or run on at a dash.
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestDist := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := envFlag(fs, EnvVar(f.Name)); !ok && f.Name != "config" {
			return
		}
		d := editDistance(name, f.Name)
		switch {
		case strings.ReplaceAll(name, "-", "") == strings.ReplaceAll(f.Name, "-", ""):
			d = 0
		case strings.HasPrefix(f.Name, name+"-") || strings.HasPrefix(name, f.Name+"-"):
			d = min(d, 2)
		case len(name) <= 5 && d > 1:
			return
		}
		if d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	if best == "" && editDistance(name, "config") <= 2 {
		best = "config"
	}
	return best
}

// editDistance counts the letters to insert, delete, replace or swap with a neighbour to
// turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// apply sets the environment's values on fs, leaving out the flags in skip (given on the
// command line); an error names the variable.
func (env origins) apply(fs *flag.FlagSet, skip origins) error {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if skip[name] != nil {
			continue
		}
		f := fs.Lookup(name)
		for _, v := range env[name].values {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s: %q: %v%s (--%s: %s)", strings.TrimPrefix(env[name].from,
					"env "), v, err, valueKind(f), name, f.Usage)
			}
		}
	}
	return nil
}

// lookupEnv is the value of one variable in environ (later entries win, as in exec.Cmd.Env).
func lookupEnv(environ []string, name string) string {
	value := ""
	for _, kv := range environ {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			value = v
		}
	}
	return value
}

// under is o with the values of over laid on it: over's flags replace o's.
func (o origins) under(over origins) origins {
	all := origins{}
	for name, v := range o {
		all[name] = v
	}
	for name, v := range over {
		all[name] = v
	}
	return all
}
