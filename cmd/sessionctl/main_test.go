package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testredis"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/client"
	"github.com/sessiond/sessiond/pkg/events"
)

// testSecret signs every token the tests mint.
var testSecret = testserver.Secret

// srv is the sessiond every test talks to: the real router on redisstore
// on a real redis-server, served over loopback.
var srv struct {
	url     string
	handler http.Handler
	broker  *events.Broker

	adminToken   string // super_admin
	serviceToken string // sessions:read sessions:write
	service      *client.Client
	admin        *client.Client
}

// secrets are every token minted; no output may contain one.
var secrets struct {
	sync.Mutex
	tokens []string
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	rs, err := testredis.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := rs.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), DB: 1})
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ts, err := testserver.Start(rdb, testserver.Options{
		Events: true, BrokerWait: 50 * time.Millisecond, Serve: true, Push: true,
		Deps: func(d *handlers.Deps) {
			d.DeviceOf = func(string) string { return "desktop" }
			d.KeepAlive = 200 * time.Millisecond
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ts.Close()

	srv.url, srv.handler, srv.broker = ts.URL, ts.Handler, ts.Broker
	srv.adminToken = mintMain(auth.MintOptions{Subject: "root", Role: auth.RoleSuperAdmin})
	svc, _ := auth.RoleOptions("service")
	srv.serviceToken = mintMain(svc)
	if srv.admin, err = client.New(ts.URL, client.WithToken(srv.adminToken)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv.service = srv.admin.As(srv.serviceToken)
	return m.Run()
}

func mintMain(o auth.MintOptions) string {
	tok, err := auth.MintHS256(testSecret, o)
	if err != nil {
		panic(err)
	}
	secrets.Lock()
	secrets.tokens = append(secrets.tokens, tok)
	secrets.Unlock()
	return tok
}

func mint(tb testing.TB, o auth.MintOptions) string {
	tb.Helper()
	return mintMain(o)
}

// uniq returns a fresh id with prefix, for tenants and users.
var uniqN atomic.Int64

func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, uniqN.Add(1))
}

// result is one sessionctl run.
type result struct {
	code           int
	stdout, stderr string
}

// env is the environment of a run: sessiond's URL and the admin token.
func env(overrides ...string) func(string) string {
	m := map[string]string{"SESSIOND_URL": srv.url, "SESSIOND_TOKEN": srv.adminToken}
	for i := 0; i+1 < len(overrides); i += 2 {
		m[overrides[i]] = overrides[i+1]
	}
	return func(k string) string { return m[k] }
}

// sessionctl runs the command with the admin token in the environment.
func sessionctl(tb testing.TB, args ...string) result {
	tb.Helper()
	return sessionctlEnv(tb, env(), args...)
}

// sessionctlEnv runs the command as main would, with getenv.
func sessionctlEnv(tb testing.TB, getenv func(string) string, args ...string) result {
	tb.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, getenv)
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	checkNoToken(tb, r)
	return r
}

// sessionctlConsole runs the command with an explicit console (a fake
// terminal), the admin token in the environment.
func sessionctlConsole(tb testing.TB, ctx context.Context, con console, args ...string) result {
	tb.Helper()
	out, errb := &testserver.SyncBuffer{}, &testserver.SyncBuffer{}
	con.out, con.err = out, errb
	if con.in == nil {
		con.in = strings.NewReader("")
	}
	code := runConsole(ctx, args, con, env())
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	checkNoToken(tb, r)
	return r
}

// checkNoToken fails when any minted token shows in r's output.
func checkNoToken(tb testing.TB, r result) {
	tb.Helper()
	secrets.Lock()
	defer secrets.Unlock()
	for _, tok := range secrets.tokens {
		if strings.Contains(r.stdout, tok) || strings.Contains(r.stderr, tok) {
			tb.Errorf("a token shows in the output:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		// Its signature alone is as bad.
		if sig := tok[strings.LastIndexByte(tok, '.')+1:]; strings.Contains(r.stdout+r.stderr, sig) {
			tb.Errorf("a token's signature shows in the output:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

// mustOK fails unless r succeeded.
func mustOK(tb testing.TB, r result) result {
	tb.Helper()
	if r.code != exitOK {
		tb.Fatalf("got exit code %d, want 0\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

// mustCreate creates n sessions of user in tenant through the internal
// API, each expiring a minute after the previous one.
func mustCreate(tb testing.TB, tenant, partner, user string, n int) []client.Session {
	tb.Helper()
	var out []client.Session
	for i := range n {
		s, err := srv.service.CreateSession(context.Background(), client.CreateSessionRequest{
			UserID: user, TenantID: tenant, PartnerID: partner,
			IPAddress: fmt.Sprintf("10.0.0.%d", i+1), UserAgent: "Mozilla/5.0",
			UserEmail: user + "@example.com",
			TTL:       time.Hour + time.Duration(len(out))*time.Minute,
		})
		if err != nil {
			tb.Fatalf("CreateSession: %v", err)
		}
		out = append(out, s)
	}
	return out
}
