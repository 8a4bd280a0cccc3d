package testtopology

import "syscall"

// sysProcAttr puts each process in its own process group, so that stop can
// signal everything it forked, and has the kernel kill it should the test
// binary die without running its cleanups (a -timeout panic, a SIGINT).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
