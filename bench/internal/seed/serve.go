package seed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/device"
	"github.com/sessiond/sessiond/redisstore"
)

// Main runs the body of the benchmark program name; when it fails, Main
// prints the error after the program's name and exits 1.
func Main(name string, run func() error) {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Web is the real router on a store, served over loopback HTTP with an
// HS256 verifier (no app: no event tail, no push).
type Web struct {
	// URL is the server's base URL.
	URL string
	// Admin is a super_admin token for it.
	Admin  string
	closer func()
}

// Serve serves the router on st, verifying HS256 tokens signed with Secret.
func Serve(ctx context.Context, st *redisstore.Store) (*Web, error) {
	v, err := auth.NewVerifier(ctx, auth.Config{HS256Secret: []byte(Secret)})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(handlers.New(handlers.Deps{Store: st, Verifier: v, MaxLifetime: 720 * time.Hour, DeviceOf: device.Classify}))
	return &Web{URL: srv.URL, Admin: Mint(Admin), closer: func() { srv.Close(); v.Close() }}, nil
}

// Admin is the super_admin the programs revoke as.
var Admin = auth.MintOptions{Subject: "bench", Role: auth.RoleSuperAdmin}

// Close stops the server and its verifier.
func (w *Web) Close() { w.closer() }

// Call sends method url with token as its bearer and body, as JSON, when
// it is not "". It reads the answer to its end and returns its status.
func Call(c *http.Client, method, url, token, body string) (int, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode, nil
}
