// Package pyhost is the server: configuration, the embedded runtime's lifecycle, listeners
// and graceful shutdown.
package pyhost

import (
	"errors"
	"fmt"
	"time"
)

// Config is everything `pyhost serve` takes.
type Config struct {
	App             string   // path/to/app.py or package.module[:callable]
	Callable        string   // WSGI callable name in a script ("" = application)
	Listen          []string // HOST:PORT, one listener each
	Threads         int      // request threads: requests running Python at once
	PythonPath      []string
	PythonHome      string
	Chdir           string
	ShutdownTimeout time.Duration
}

// DefaultListen is where pyhost serves when no --listen is given.
const DefaultListen = "127.0.0.1:8000"

// Validate checks the configuration before anything starts.
func (c *Config) Validate() error {
	if c.App == "" {
		return errors.New("no application: give a WSGI script (app.py) or module:callable, " +
			"e.g. pyhost serve app.py")
	}
	if c.Threads < 1 {
		return fmt.Errorf("--threads %d: need at least 1 request thread", c.Threads)
	}
	if len(c.Listen) == 0 {
		c.Listen = []string{DefaultListen}
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s: must not be negative", c.ShutdownTimeout)
	}
	return nil
}
