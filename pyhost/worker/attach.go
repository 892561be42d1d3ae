package worker

import (
	"os"
	"os/exec"
)

// How a supervisor hands its sockets to a worker: the listening sockets become the worker's
// file descriptors 3, 4, ... in --listen order (exec.Cmd.ExtraFiles), followed by the write
// end of the worker's status pipe, then the lifeline and the control socket, whose numbers
// the environment names (Env).
const firstInherited = 3 // ExtraFiles[0] is fd 3 in the child

// Files are the descriptors a supervisor passes to one worker.
type Files struct {
	Listeners []*os.File // the listening sockets it accepts on, in order
	Status    *os.File   // the write end of its status pipe (the supervisor reads the other)
	Lifeline  *Lifeline  // nil: none
	Control   *os.File   // its control socket, listening; nil: none
}

// Attach sets cmd up to start a worker: files become its descriptors (they replace
// cmd.ExtraFiles), and env, with its descriptor fields filled in, joins its environment
// (cmd.Env, or this process's when that is nil).
func Attach(cmd *exec.Cmd, env Env, files Files) {
	cmd.ExtraFiles = append(append([]*os.File{}, files.Listeners...), files.Status)
	env.Listeners = len(files.Listeners)
	env.Lifeline, env.Control = 0, 0
	if files.Lifeline != nil {
		env.Lifeline = pass(cmd, files.Lifeline.r)
	}
	if files.Control != nil {
		env.Control = pass(cmd, files.Control)
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env.Environ()...)
}

// pass adds f to cmd's descriptors and returns its number in the child.
func pass(cmd *exec.Cmd, f *os.File) int {
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	return firstInherited + len(cmd.ExtraFiles) - 1
}
