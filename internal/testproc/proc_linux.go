package testproc

import "syscall"

// sysProcAttr puts the process in its own process group, so Stop can signal
// everything it forked, and has the kernel kill it should the test binary die
// without running its cleanups (a -timeout panic, a SIGINT). Pdeathsig fires
// when the thread that started the child exits; Go ends a thread only when a
// goroutine exits while locked to it, which nothing here does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
