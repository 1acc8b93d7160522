//go:build !unix

package analysis

import "os/exec"

// killProcessGroup leaves cancellation to os/exec, which kills the
// process itself, where there are no process groups to kill.
func killProcessGroup(cmd *exec.Cmd) {}
