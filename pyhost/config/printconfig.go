package config

// pyhost serve --print-config: the configuration serve would run, each value with where it
// came from (a flag, a PYHOST_ variable, a config file's line, the default).

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pyhost/pyhost/gil"
)

// recorder notes each value given to a flag on the command line, by the flag's own name.
type recorder struct {
	flag.Value
	name string // as typed (an alias, maybe)
	got  origins
}

func (r *recorder) Set(v string) error {
	name := canonicalName(r.name)
	o := r.got[name]
	if o == nil {
		dash := "--"
		if len(r.name) == 1 {
			dash = "-"
		}
		o = &origin{from: "flag " + dash + r.name}
		r.got[name] = o
	}
	o.values = append(o.values, v)
	return r.Value.Set(v)
}

func (r *recorder) String() string {
	if r == nil || r.Value == nil {
		return ""
	}
	return r.Value.String()
}

func (r *recorder) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// readCommandLine parses serve's arguments on a throwaway FlagSet: the flags given (by
// their own names, aliases resolved) with their values, and the positional arguments.
func readCommandLine(args []string) (origins, []string, error) {
	var probe Config
	fs := ServeFlags(&probe, io.Discard)
	got := origins{}
	fs.VisitAll(func(f *flag.Flag) { f.Value = &recorder{Value: f.Value, name: f.Name, got: got} })
	positional, err := ParseInterspersed(fs, args)
	return got, positional, err
}

// CutPrintConfig removes --print-config from serve's arguments and says whether it was there.
func CutPrintConfig(args []string) (rest []string, found bool) {
	for i, a := range args {
		if a == "--" {
			return append(rest, args[i:]...), found
		}
		if a == "--print-config" || a == "-print-config" {
			found = true
			continue
		}
		rest = append(rest, a)
	}
	return rest, found
}

// PrintServeConfig is `pyhost serve --print-config ARGS`: it writes to w the configuration
// serve ARGS would run, in this environment, each value with its source, and starts
// nothing. The error is serve's own when ARGS (or the environment, or the file) are wrong.
func PrintServeConfig(args []string, w, stderr io.Writer, build gil.Build) error {
	environ := os.Environ()
	_, ignored, _ := readEnv(ServeFlags(&Config{}, io.Discard), environ)
	f, cfgs, gots, found, err := parseProcessGroups(args, environ, stderr, build)
	if !found {
		cfg, got, err := parseServe(args, environ, stderr, build)
		if err != nil {
			return err
		}
		printHeader(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if cfg.App != "" {
			fmt.Fprintf(tw, "app\t%s\targument\n", cfg.App)
		}
		printFlags(tw, got, effectiveDefaults(cfg))
		tw.Flush()
		printIgnored(w, ignored)
		return nil
	}
	if err != nil {
		return err
	}
	printHeader(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "config\t%s\t%s\n", f.Path, configOrigin(args))
	for i, g := range f.ProcessGroups {
		fmt.Fprintf(tw, "\n[group %s]\t\t%s:%d\n", g.Name, f.Path, g.Line)
		for _, m := range f.Mounts {
			if m.ProcessGroup == g.Name {
				fmt.Fprintf(tw, "mount\t%s=%s\t%s:%d\n", m.Prefix, m.App, f.Path, m.Line)
			}
		}
		printFlags(tw, gots[i], effectiveDefaults(cfgs[i]), "mount") // (the file's, above)
	}
	for _, s := range f.Static {
		fmt.Fprintf(tw, "\nstatic\t%s=%s\t%s:%d\n", s.Prefix, s.Dir, f.Path, s.Line)
	}
	tw.Flush()
	printIgnored(w, ignored)
	return nil
}

func printHeader(w io.Writer) {
	fmt.Fprint(w, "# pyhost serve: the effective configuration and where each value comes from\n"+
		"# (a flag beats a PYHOST_ variable, which beats the config file, which beats the "+
		"default;\n# \"\" is unset: `pyhost help` says what applies then)\n")
}

// configOrigin says where the config file was named.
func configOrigin(args []string) string {
	if _, _, found, _ := cutConfigFlag(args); found {
		return "flag --config"
	}
	return "env " + EnvConfig
}

// effectiveDefaults are the values that flags left unset take in cfg (validated) where the
// flag's own default is empty: what serve runs with, not "".
func effectiveDefaults(cfg Config) map[string]string {
	or := func(v, dflt string) string {
		if v == "" {
			return dflt
		}
		return v
	}
	return map[string]string{
		"gil":               string(cfg.GIL),
		"application-group": cfg.AppGroup,
		"log-format":        cfg.Logs.Format,
		"access-log-format": cfg.Logs.AccessLogFormat,
		"http-server":       or(cfg.HTTPServer, HTTPServerFast),
		"go-procs":          or(cfg.GoProcs, "all"),
	}
}

// printFlags writes one line per value of each of serve's flags (by their own names), with
// its source; flags nothing set show their default (effective: what an empty default means).
func printFlags(w io.Writer, got origins, effective map[string]string, except ...string) {
	ServeFlags(&Config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if aliases[f.Name] != "" || misnomers[f.Name] != "" || slices.Contains(except, f.Name) {
			return
		}
		o := got[f.Name]
		if o == nil {
			def := f.DefValue
			if f.Name == "listen" {
				def = DefaultListen
			}
			if def == "" && effective[f.Name] != "" {
				def = effective[f.Name]
			}
			fmt.Fprintf(w, "%s\t%s\tdefault\n", f.Name, shown(def))
			return
		}
		values := o.values
		if !isRepeatable(f) && len(values) > 1 {
			values = values[len(values)-1:] // the last one given wins
		}
		for _, v := range values {
			fmt.Fprintf(w, "%s\t%s\t%s\n", f.Name, shown(v), o.from)
		}
	})
}

// shown quotes a value that would not read as one: empty, or with spaces.
func shown(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n") {
		return strconv.Quote(v)
	}
	return v
}

func printIgnored(w io.Writer, ignored []string) {
	if len(ignored) > 0 {
		fmt.Fprintf(w, "\n# ignored (no serve flag of that name): %s\n", strings.Join(ignored, " "))
	}
}
