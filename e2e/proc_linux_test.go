package e2e

import "syscall"

// sysProcAttr puts a child (nginx, redis-server) in its own process group,
// so that stopping it reaches everything it forked, and has the kernel kill
// it should the test binary die without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
