// Package proc sets up the process that will run Python, before Python starts: the user and
// groups it runs as (dropping root, and refusing to run apps as root unless told to), the
// CPUs it is bound to, and the pid file that names it (--pid-file).
//
// It takes plain values (a user and a group name, a CPU count and a worker slot), not the
// configuration: reading flags and files is pyhost/config's, and deciding which process calls
// what, and when, is the caller's. It uses golang.org/x/sys/unix and the syscall package, no
// unsafe and no cgo.
package proc
