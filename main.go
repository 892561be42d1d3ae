// Command pyhost serves Python WSGI applications from an embedded CPython.
package main

import (
	"os"

	"github.com/pyhost/pyhost/pyhost"
)

func main() { os.Exit(pyhost.Main(os.Args[1:], os.Stdout, os.Stderr)) }
