package pyhost

import (
	"os"
	"syscall"
	"unsafe"
)

// The terminal of `pyhost top`: keys are read one at a time (no Enter needed for q) by
// turning off canonical mode and echo, and the screen is redrawn in the alternate screen
// buffer, so the shell's screen comes back as it was. Signals (Ctrl-C) stay on. Plain ioctls:
// no dependency for a few lines.

// cbreak puts the terminal on f into character-at-a-time mode without echo and returns the
// function that restores it; ok is false when f is no terminal (then nothing changed).
func cbreak(f *os.File) (restore func(), ok bool) {
	fd := f.Fd()
	var old syscall.Termios
	if ioctlTermios(fd, syscall.TCGETS, &old) != nil {
		return func() {}, false
	}
	raw := old
	raw.Lflag &^= syscall.ICANON | syscall.ECHO
	raw.Cc[syscall.VMIN], raw.Cc[syscall.VTIME] = 1, 0
	if ioctlTermios(fd, syscall.TCSETS, &raw) != nil {
		return func() {}, false
	}
	return func() { _ = ioctlTermios(fd, syscall.TCSETS, &old) }, true
}

func ioctlTermios(fd uintptr, req uintptr, t *syscall.Termios) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t))); errno != 0 {
		return errno
	}
	return nil
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
