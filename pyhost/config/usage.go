package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// UsageError is a command line the flags refuse (an unknown flag, a value a flag cannot
// take): the caller prints it with one hint, not the whole usage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageHint is the line printed after a UsageError.
const UsageHint = `run "pyhost help" for the flags and what they take`

// parseQuietly is fs.Parse without the flag package's own printing (the error, then every
// flag's usage): the error comes back as a *UsageError for the caller to print once. -h and
// --help still print the flags, as the flag package does, and return flag.ErrHelp.
func parseQuietly(fs *flag.FlagSet, args []string) error {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return &UsageError{Err: err}
	}
	return nil
}
