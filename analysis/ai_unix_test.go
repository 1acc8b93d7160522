//go:build unix

package analysis

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has the id pid any more.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
