//go:build unix && !linux

package testredis

import "syscall"

// sysProcAttr puts redis-server in its own process group, so Stop can signal
// everything it forked.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
