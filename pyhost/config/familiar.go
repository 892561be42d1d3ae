package config

// Familiar names: gunicorn's spelling of a flag whose meaning is the same here, registered
// as another name of the same flag, and gunicorn's names that would mean something else
// here, which refuse with a pointer to pyhost's flags instead of quietly doing another thing.

import (
	"errors"
	"flag"
)

// aliases maps each familiar name to pyhost's flag of the same meaning. They are names on
// the command line only: config files and PYHOST_ variables use the flag's own name, so one
// setting has one key there (and --print-config shows that one).
var aliases = map[string]string{
	"b":                   "listen",
	"bind":                "listen",
	"w":                   "processes",
	"workers":             "processes",
	"max-requests":        "maximum-requests",
	"max-requests-jitter": "maximum-requests-jitter",
}

// misnomers are gunicorn's flags whose meaning pyhost splits or names otherwise: given,
// they fail with this text.
var misnomers = map[string]string{
	"timeout": "--timeout is gunicorn's: it kills a worker that is silent that long. " +
		"pyhost splits it: --request-timeout bounds a request's time in Python (then 504 " +
		"and pyhost.RequestTimeout raised in it), --deadlock-timeout recycles a worker " +
		"whose GIL is stuck, and --shutdown-timeout is how long a stop waits for requests " +
		"in flight",
}

// canonicalName is the flag a name given on the command line sets.
func canonicalName(name string) string {
	if c, ok := aliases[name]; ok {
		return c
	}
	return name
}

// addFamiliarNames registers the aliases (on the Value of the flag they name, so both
// spellings set one thing) and the misnomers, after serve's own flags.
func addFamiliarNames(fs *flag.FlagSet) {
	for alias, name := range aliases {
		if f := fs.Lookup(name); f != nil && fs.Lookup(alias) == nil {
			fs.Var(f.Value, alias, "the same as --"+name+" (gunicorn's name; on the "+
				"command line only: PYHOST_ variables and config files say "+name+")")
		}
	}
	for name, why := range misnomers {
		fs.Func(name, "not a pyhost flag: "+why, func(string) error { return errors.New(why) })
	}
}
