package seed

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"

	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/pkg/auth"
)

// Secret is the HS256 secret the servers of the benchmark programs verify
// and Mint signs with.
const Secret = "bench-secret-bench-secret-bench-secret-0123456789"

// Mint is a token of o signed with Secret. It panics when o cannot be
// minted: the options are the program's own.
func Mint(o auth.MintOptions) string {
	tok, err := auth.MintHS256([]byte(Secret), o)
	if err != nil {
		panic(fmt.Sprintf("seed: mint %+v: %v", o, err))
	}
	return tok
}

// Instance is one sessiond (internal/app, as cmd/sessiond wires it) served
// over loopback HTTP, with its revocation tail running, and its push worker
// too when asked.
type Instance struct {
	*app.App
	// URL is the server's base URL.
	URL  string
	stop func()
}

// StartApp starts an instance on o, whose HS256 secret it sets to Secret.
// The caller owns o.Redis and closes it after Stop.
func StartApp(ctx context.Context, o app.Options, push bool) (*Instance, error) {
	o.Config.HS256Secret = Secret
	a, err := app.New(ctx, o)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.RunEvents(bg) })
	if push {
		wg.Go(func() { a.RunPush(bg) })
	}
	srv := httptest.NewServer(a.Handler)
	return &Instance{App: a, URL: srv.URL, stop: func() {
		a.StartShutdown()
		cancel()
		wg.Wait()
		srv.Close()
		a.Close()
	}}, nil
}

// Stop shuts the instance down: its streams end, its workers stop, its
// server and app close.
func (in *Instance) Stop() { in.stop() }
