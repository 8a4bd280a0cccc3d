//go:build unix && !linux

package testproc

import "syscall"

// sysProcAttr puts the process in its own process group, so Stop can signal
// everything it forked.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
