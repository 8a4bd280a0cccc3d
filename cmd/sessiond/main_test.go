package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
)

// TestRunBadConfig checks that run refuses a bad environment, before doing
// anything else, with an error that names the variable at fault.
func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantVar string
	}{
		{"unknown redis mode", nil, map[string]string{config.EnvRedisMode: "foo"}, config.EnvRedisMode},
		{"addr without port", nil, map[string]string{config.EnvAddr: "localhost"}, config.EnvAddr},
		{"revoke batch zero", nil, map[string]string{config.EnvRevokeBatch: "0"}, config.EnvRevokeBatch},
		{"short secret", nil, map[string]string{config.EnvHS256Secret: "short"}, config.EnvHS256Secret},
		{"redis url without a token config", nil, map[string]string{config.EnvRedisURL: "redis://127.0.0.1:1/0"}, config.EnvHS256Secret + " or " + config.EnvJWKSURL},
		{"token command too", []string{"token", "--role", "super_admin"}, map[string]string{config.EnvHS256Secret: testSecret, config.EnvLogFormat: "text"}, config.EnvLogFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // were run to serve by mistake, it would stop at once
			err := run(ctx, tc.args, envMap(tc.env), &out)
			if err == nil {
				t.Fatalf("got nil error, want one naming %s", tc.wantVar)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v, want a *config.Error", err, err)
			}
			if want := "invalid configuration: " + tc.wantVar + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got error %q, want it to start with %q", err, want)
			}
			if out.Len() != 0 {
				t.Errorf("got output %q, want none", out.String())
			}
		})
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envMap(nil), &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "serve"`) {
		t.Fatalf("got error %v, want one saying unknown command \"serve\"", err)
	}
	if out.Len() != 0 {
		t.Errorf("got output %q, want none", out.String())
	}
}

// TestRunServes checks that run with no command serves until ctx ends and
// then returns nil.
func TestRunServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out testserver.SyncBuffer
	env := map[string]string{config.EnvAddr: "127.0.0.1:0", config.EnvLogLevel: "error"}
	if err := run(ctx, nil, envMap(env), &out); err != nil {
		t.Fatalf("run with a cancelled context: got %v, want nil", err)
	}
	if !strings.Contains(out.String(), "export ADMIN_TOKEN=") {
		t.Errorf("got output %q, want the dev banner", out.String())
	}
}

// TestRunToken checks that `sessiond token` prints one token per role that
// the verifier accepts, with the claims the flags asked for.
func TestRunToken(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     auth.Principal
		wantKind auth.Kind
		wantTTL  time.Duration
	}{
		{
			name:     "super_admin",
			args:     []string{"--role", "super_admin", "--sub", "alice"},
			want:     auth.Principal{Subject: "alice", Role: auth.RoleSuperAdmin},
			wantKind: auth.KindSuperAdmin,
			wantTTL:  time.Hour,
		},
		{
			name:     "partner_admin",
			args:     []string{"--role", "partner_admin", "--partner", "p1", "--ttl", "30m"},
			want:     auth.Principal{Subject: "admin", PartnerID: "p1", Role: auth.RolePartnerAdmin},
			wantKind: auth.KindPartnerAdmin,
			wantTTL:  30 * time.Minute,
		},
		{
			name:     "tenant_admin",
			args:     []string{"--role", "tenant_admin", "--tenant", "t1", "--partner", "p1", "--sub", "bob"},
			want:     auth.Principal{Subject: "bob", TenantID: "t1", PartnerID: "p1", Role: auth.RoleTenantAdmin},
			wantKind: auth.KindTenantAdmin,
			wantTTL:  time.Hour,
		},
		{
			name:     "user",
			args:     []string{"--role", "user", "--sub", "u1", "--tenant", "t1", "--sid", "s1", "--ttl", "2h"},
			want:     auth.Principal{Subject: "u1", TenantID: "t1", SessionID: "s1"},
			wantKind: auth.KindUser,
			wantTTL:  2 * time.Hour,
		},
		{
			name: "service",
			args: []string{"--role", "service"},
			want: auth.Principal{
				Subject: "sessiond-service", TokenType: auth.TokenTypeClientCredentials,
				Scopes: []string{auth.ScopeSessionsRead, auth.ScopeSessionsWrite},
			},
			wantKind: auth.KindService,
			wantTTL:  time.Hour,
		},
		{
			name: "platform",
			args: []string{"--role", "service", "--platform", "--scope", "admin:read admin:write", "--sub", "ops"},
			want: auth.Principal{
				Subject: "ops", TokenType: auth.TokenTypeClientCredentials, Platform: true,
				Scopes: []string{auth.ScopeAdminRead, auth.ScopeAdminWrite},
			},
			wantKind: auth.KindPlatform,
			wantTTL:  time.Hour,
		},
	}
	env := map[string]string{
		config.EnvHS256Secret: testSecret,
		config.EnvIssuer:      "https://idp.example.test",
		config.EnvAudience:    "sessiond",
	}
	v, err := auth.NewVerifier(context.Background(), auth.Config{
		HS256Secret: []byte(testSecret), Issuer: env[config.EnvIssuer], Audience: env[config.EnvAudience],
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	defer v.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"token"}, tc.args...), envMap(env), &out); err != nil {
				t.Fatalf("run token %v: %v", tc.args, err)
			}
			raw := out.String()
			if strings.Count(raw, "\n") != 1 || !strings.HasSuffix(raw, "\n") {
				t.Fatalf("got output %q, want exactly one line", raw)
			}
			tok := strings.TrimSpace(raw)
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(auth.Principal{}, "ExpiresAt")); diff != "" {
				t.Errorf("principal mismatch (-want +got):\n%s", diff)
			}
			if got.Kind() != tc.wantKind {
				t.Errorf("got kind %v, want %v", got.Kind(), tc.wantKind)
			}
			iat, exp := mustTimes(t, tok)
			if ttl := exp.Sub(iat); ttl != tc.wantTTL {
				t.Errorf("got exp - iat = %v, want %v", ttl, tc.wantTTL)
			}
		})
	}
}

// mustTimes returns the iat and exp claims of a token already verified.
func mustTimes(tb testing.TB, tok string) (iat, exp time.Time) {
	tb.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		tb.Fatalf("ParseUnverified: %v", err)
	}
	if c.IssuedAt == nil || c.ExpiresAt == nil {
		tb.Fatalf("got iat %v exp %v, want both set", c.IssuedAt, c.ExpiresAt)
	}
	return c.IssuedAt.Time, c.ExpiresAt.Time
}

func TestRunTokenErrors(t *testing.T) {
	withSecret := map[string]string{config.EnvHS256Secret: testSecret}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"no secret", []string{"--role", "super_admin"}, nil, "set SESSIOND_JWT_HS256_SECRET"},
		{"jwks only is no secret", []string{"--role", "super_admin"}, map[string]string{config.EnvJWKSURL: "https://idp.example.test/jwks.json"}, "set SESSIOND_JWT_HS256_SECRET"},
		{"unknown role", []string{"--role", "root"}, withSecret, `unknown role "root"`},
		{"zero ttl", []string{"--ttl", "0s"}, withSecret, "--ttl must be positive"},
		{"negative ttl", []string{"--ttl", "-1h"}, withSecret, "--ttl must be positive"},
		{"unknown flag", []string{"--tennant", "t1"}, withSecret, "flag provided but not defined: -tennant"},
		{"bad ttl", []string{"--ttl", "1d"}, withSecret, `invalid value "1d" for flag -ttl`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"token"}, tc.args...), envMap(tc.env), &out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if strings.Count(out.String(), ".") >= 2 && strings.HasPrefix(out.String(), "eyJ") {
				t.Errorf("printed a token despite the error: %q", out.String())
			}
		})
	}
}
