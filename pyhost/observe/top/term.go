package top

import (
	"os"

	"golang.org/x/sys/unix"
)

// The terminal of `pyhost top`: keys are read one at a time (no Enter needed for q) by
// turning off canonical mode and echo, and the screen is redrawn in the alternate screen
// buffer, so the shell's screen comes back as it was. Signals (Ctrl-C) stay on.

// cbreak puts the terminal on f into character-at-a-time mode without echo and returns the
// function that restores it; ok is false when f is no terminal (then nothing changed).
func cbreak(f *os.File) (restore func(), ok bool) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}, false
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if unix.IoctlSetTermios(fd, unix.TCSETS, &raw) != nil {
		return func() {}, false
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, true
}

// ANSI sequences `pyhost top` draws with.
const (
	ansiAltScreenOn  = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	ansiAltScreenOff = "\x1b[?25h\x1b[?1049l"
	ansiHomeClear    = "\x1b[H\x1b[2J"
	ansiBold         = "\x1b[1m"
	ansiReverse      = "\x1b[7m"
	ansiReset        = "\x1b[0m"
)
