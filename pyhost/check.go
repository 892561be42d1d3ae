package pyhost

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/pyhost/pyhost/gil"
	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/server"
)

// check implements `pyhost check APP --gil MODE`: its flags here, the import in a throwaway
// interpreter of that mode and the report per extension module in server.Check.
func check(args []string, stdout, stderr io.Writer) int {
	var opts server.CheckOptions
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts.GIL = gil.Shared
	fs.Func("gil", "GIL mode to check: shared, own or free", func(v string) (err error) {
		opts.GIL, err = gil.ParseMode(v)
		return err
	})
	fs.StringVar(&opts.Callable, "callable", "", "name of the WSGI callable in a script")
	fs.Var((*config.StringList)(&opts.PythonPath), "python-path", "directory to prepend to sys.path")
	fs.StringVar(&opts.Chdir, "chdir", "", "change to this directory before loading the app")
	fs.StringVar(&opts.PythonHome, "python-home", "", "Python prefix or virtualenv")
	fs.Func("application-group", "%{GLOBAL}: check the main interpreter instead of a "+
		"sub-interpreter of the mode", func(v string) error {
		if v != "%{GLOBAL}" {
			return fmt.Errorf("check knows %%{GLOBAL} (the main interpreter); any other " +
				"group is a sub-interpreter of --gil, the default")
		}
		opts.Global = true
		return nil
	})
	fs.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	positional, err := config.ParseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		printStartError(stderr, "check", err)
		return 2
	}
	if len(positional) != 1 {
		fmt.Fprintln(stderr, "pyhost check: give one app, e.g. pyhost check app.py --gil own")
		return 2
	}
	opts.App = positional[0]
	err = opts.GIL.Check(server.LinkedBuild())
	if err == nil {
		err = config.CheckPythonHome(opts.PythonHome, server.LinkedBuild())
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ok, err := server.Check(stdout, opts)
	if err != nil {
		fmt.Fprintln(stderr, "pyhost check:", err)
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}
