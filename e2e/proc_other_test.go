//go:build unix && !linux

package e2e

import "syscall"

// sysProcAttr puts a child (nginx, redis-server) in its own process group,
// so that stopping it reaches everything it forked.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
