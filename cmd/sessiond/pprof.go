package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startPprof serves net/http/pprof on addr (SESSIOND_PPROF_ADDR, a loopback
// address: config rejects any other) on a mux of its own, so the profiles
// are never reachable through the API listener. It returns the bound address
// and a func that closes it, cutting off any profile in flight.
func startPprof(addr string) (string, func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("listen on %s (SESSIOND_PPROF_ADDR): %w", addr, err)
	}
	// No write timeout: a CPU profile or trace streams for its ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(ln) }() // Serve closes ln when it returns
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
