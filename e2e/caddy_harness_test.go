package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/testproc"
)

// caddyInstallHint ends every error about a missing caddy.
const caddyInstallHint = "install it with `apt-get install -y caddy` (Debian 12 and Ubuntu ship Caddy 2.6, which is enough)"

// shippedCaddyfile is the configuration deploy/gateways/README.md tells
// users to run; the tests run exactly this file, its addresses given in the
// environment variables it reads.
const shippedCaddyfile = "../deploy/gateways/caddy/Caddyfile"

// caddy is a running caddy process.
type caddy struct {
	URL  string
	proc *testproc.Proc
}

// startCaddy runs the shipped Caddyfile in a real caddy, in front of
// appAddr, asking sessiondAddr. It is stopped when the test ends.
func startCaddy(t *testing.T, sessiondAddr, appAddr string) *caddy {
	t.Helper()
	bin, err := testproc.LookPath("caddy", caddyInstallHint)
	if err != nil {
		t.Fatalf("%v", err)
	}
	conf, err := filepath.Abs(shippedCaddyfile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := testproc.Retry(context.Background(), 1, func(ports []int) (testproc.Spec, error) {
		listen := testproc.Addr(ports[0])
		return testproc.Spec{
			Name: "caddy", Path: bin,
			Args: []string{"run", "--config", conf, "--adapter", "caddyfile"},
			Env:  caddyEnv(dir, listen, sessiondAddr, appAddr),
			// The site address names 127.0.0.1, so Caddy answers only
			// requests for that host; it still binds the port on every
			// interface (the shipped file has no `bind`).
			Addr: listen, Ready: testproc.TCPReady,
		}, nil
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		_ = p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("caddy output:\n%s", testproc.Last(p.Output(), 8<<10))
		}
	})
	return &caddy{URL: "http://" + p.Addr, proc: p}
}

// caddyEnv is the test's environment with the shipped file's variables set
// to loopback addresses, the admin API off (parallel tests would share its
// port) and Caddy's state kept in dir.
func caddyEnv(dir, listen, sessiondAddr, appAddr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CADDY_") || strings.HasPrefix(k, "XDG_") || k == "HOME" ||
			k == "SESSIOND_UPSTREAM" || k == "APP_UPSTREAM" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"CADDY_LISTEN=http://"+listen,
		"CADDY_ADMIN=off",
		"SESSIOND_UPSTREAM="+sessiondAddr,
		"APP_UPSTREAM="+appAddr,
	)
}
