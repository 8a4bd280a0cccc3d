// Package testproc starts the real processes tests need (redis-server,
// redis-sentinel, nginx, sessiond, benchmark tools) on loopback: free ports,
// a process group of its own that the kernel kills with the test binary,
// the tail of its output for error messages, readiness probing, and stop.
// internal/testredis, internal/testtopology, e2e, faults and bench/suite
// all start their processes through it.
package testproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrPortTaken means another process bound the port between the probe and
// the process's bind: Retry starts it again on other ports.
var ErrPortTaken = errors.New("port taken")

// Defaults of Spec.
const (
	DefaultReadyTimeout = 5 * time.Second
	DefaultTailSize     = 64 << 10
	stopTimeout         = 5 * time.Second
)

// LookPath finds a program, or says how to install it (hint).
func LookPath(name, hint string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH: %s (%v)", name, hint, err)
	}
	return p, nil
}

// Spec says how to start one process.
type Spec struct {
	Name string   // what the process is, for messages ("redis-server", "sentinel", …)
	Path string   // the program
	Args []string // its arguments
	Dir  string   // its working directory ("" = the test's)
	Env  []string // its environment (nil = the test's)
	// Addr is where it listens; Ready is called with it until it returns
	// nil (nil Ready: Start does not wait).
	Addr  string
	Ready func(addr string) error
	// ReadyTimeout bounds the wait (DefaultReadyTimeout when zero).
	ReadyTimeout time.Duration
	// TailSize bounds the output kept (DefaultTailSize when zero).
	TailSize int
	// Output, when set, receives all the output too.
	Output io.Writer
	// LogFile, when set, is created to receive all the output too, and
	// closed once the process has exited.
	LogFile string
}

// Proc is a running process. Its methods are safe for concurrent use.
type Proc struct {
	Name string
	Addr string
	cmd  *exec.Cmd
	out  *Tail

	exited  chan struct{} // closed once reaped
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error
}

// Start starts s's process in its own process group and waits until it is
// ready; ctx bounds that wait, not the process's life. When the process
// exits first saying its address is in use, the error wraps ErrPortTaken.
func Start(ctx context.Context, s Spec) (*Proc, error) {
	size := s.TailSize
	if size <= 0 {
		size = DefaultTailSize
	}
	p := &Proc{Name: s.Name, Addr: s.Addr, cmd: exec.Command(s.Path, s.Args...), out: NewTail(size), exited: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = s.Dir, s.Env
	ws := []io.Writer{p.out}
	if s.Output != nil {
		ws = append(ws, s.Output)
	}
	var log *os.File
	if s.LogFile != "" {
		f, err := os.Create(s.LogFile)
		if err != nil {
			return nil, fmt.Errorf("%s: log: %w", s.Name, err)
		}
		log = f
		ws = append(ws, f)
	}
	w := io.MultiWriter(ws...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = sysProcAttr()
	// Output is copied through pipes; never let a stray holder of the pipe
	// block Wait.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		if log != nil {
			log.Close()
		}
		return nil, fmt.Errorf("start %s: %w", s.Path, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		if log != nil {
			log.Close()
		}
		close(p.exited)
	}()
	if s.Ready == nil {
		return p, nil
	}
	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if err := p.waitReady(ctx, s.Ready, timeout); err != nil {
		_ = p.Kill()
		return nil, err
	}
	return p, nil
}

// Run runs s's program to completion in its own process group, killing the
// group when ctx ends first. Its output goes to s.Output; Addr and Ready
// are not used.
func Run(ctx context.Context, s Spec) error {
	s.Ready = nil
	p, err := Start(ctx, s)
	if err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
		if err := p.Kill(); err != nil {
			return err
		}
	}
	err = p.waitErr
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Path, strings.Join(s.Args, " "), err)
	}
	return nil
}

func (p *Proc) waitReady(ctx context.Context, ready func(string) error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := ready(p.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			out := p.out.String()
			if strings.Contains(out, "Address already in use") || strings.Contains(out, "address already in use") {
				return fmt.Errorf("%s %s: %w", p.Name, p.Addr, ErrPortTaken)
			}
			return fmt.Errorf("%s on %s exited before it was ready (%v); output:\n%s", p.Name, p.Addr, p.waitErr, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("%s on %s not ready within %s (%v, %v); output:\n%s", p.Name, p.Addr, timeout, ctx.Err(), err, p.Output())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Pid is the process id, which is also its process group's.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Output is the tail of what the process wrote to stdout and stderr.
func (p *Proc) Output() string { return p.out.String() }

// Exited is closed once the process has exited and been reaped.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// WaitErr is how the process ended; valid once Exited is closed.
func (p *Proc) WaitErr() error { return p.waitErr }

// Alive reports whether the process has not exited.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process alone: SIGSTOP freezes it, SIGCONT
// resumes it, SIGKILL crashes it; Stop and Kill still clean up after that.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to %s pid %d: %w", sig, p.Name, p.Pid(), err)
	}
	return nil
}

// Stop ends the process group gracefully: SIGTERM (and SIGCONT, as a
// stopped process acts on SIGTERM only once resumed), then SIGKILL after
// grace. It waits until the process is reaped, is idempotent, and succeeds
// when the process already exited.
func (p *Proc) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.end(grace) })
	return p.stopErr
}

// Kill is Stop without grace: SIGKILL to the group at once, for processes
// with nothing to save. It also waits a moment for children the process
// forked (reaped by init, not by us), so that nothing outlives it.
func (p *Proc) Kill() error { return p.Stop(0) }

func (p *Proc) end(grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	pgid := p.Pid()
	if grace > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		select {
		case <-p.exited:
			return nil
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("%s pid %d survived SIGKILL for %s", p.Name, pgid, stopTimeout)
	}
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
