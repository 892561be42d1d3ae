package pyhost

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyhost/pyhost/pyhost/config"
	"github.com/pyhost/pyhost/pyhost/config/apache"
	"github.com/pyhost/pyhost/pyhost/server"
)

// checkConfig is `pyhost check-config FILE`: exit 0 and a summary when the file is valid, 2
// with every problem (FILE:LINE: key: what is wrong) when it is not.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: pyhost check-config FILE")
		return 2
	}
	f, err := config.LoadFile(args[0], server.LinkedBuild())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	f.Summary(stdout)
	return 0
}

// importApache is `pyhost import-apache FILE`.
func importApache(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: pyhost import-apache FILE > pyhost.toml")
		return 2
	}
	out, err := apache.Import(args[0], stderr)
	if err != nil {
		fmt.Fprintf(stderr, "import-apache: %v\n", err)
		return 2
	}
	_, _ = io.WriteString(stdout, out)
	return 0
}
