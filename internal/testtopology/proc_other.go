//go:build unix && !linux

package testtopology

import "syscall"

// sysProcAttr puts each process in its own process group, so that stop can
// signal everything it forked.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
