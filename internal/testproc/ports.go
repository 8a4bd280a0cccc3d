package testproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// PortAttempts is how many times Retry starts a process on fresh ports.
const PortAttempts = 5

// FreePorts returns n distinct free loopback ports: the listeners are held
// open together, so that no two are the same. Another process may still
// take one before the caller binds it (see Retry).
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick free ports: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreeAddrs is FreePorts as "127.0.0.1:port" addresses.
func FreeAddrs(n int) ([]string, error) {
	ports, err := FreePorts(n)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, n)
	for i, port := range ports {
		addrs[i] = Addr(port)
	}
	return addrs, nil
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Retry picks n free ports, builds a spec for them and starts it, again on
// fresh ports when one was taken meanwhile (PortAttempts times at most).
func Retry(ctx context.Context, n int, spec func(ports []int) (Spec, error)) (*Proc, error) {
	for attempt := 1; ; attempt++ {
		ports, err := FreePorts(n)
		if err != nil {
			return nil, err
		}
		s, err := spec(ports)
		if err != nil {
			return nil, err
		}
		p, err := Start(ctx, s)
		if errors.Is(err, ErrPortTaken) && attempt < PortAttempts {
			continue
		}
		return p, err
	}
}
