package faults

import "syscall"

// sysProcAttr puts a redis-server this package starts in its own process
// group and has the kernel kill it if the test binary dies without cleaning
// up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
