//go:build unix

package analysis

import (
	"os/exec"
	"syscall"
)

// killProcessGroup starts cmd in a process group of its own and makes its
// cancellation kill the whole group: CLI providers start helpers (node,
// shells) that would otherwise outlive the timeout.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
