//go:build unix && !linux

package faults

import "syscall"

// sysProcAttr puts a redis-server this package starts in its own process
// group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
