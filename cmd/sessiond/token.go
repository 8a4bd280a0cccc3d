package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/sessiond/sessiond/pkg/auth"
	"github.com/sessiond/sessiond/pkg/config"
)

// mintToken implements `sessiond token`: it prints one HS256 token signed
// with SESSIOND_JWT_HS256_SECRET.
func mintToken(cfg config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(out)
	role := fs.String("role", "user", "super_admin, partner_admin, tenant_admin, user or service")
	tenant := fs.String("tenant", "", "tenant_id claim")
	partner := fs.String("partner", "", "partner_id claim")
	sub := fs.String("sub", "", "sub claim (default depends on the role)")
	sid := fs.String("sid", "", "sid claim: the session the token belongs to")
	scope := fs.String("scope", "", "space-separated scopes (e.g. \"admin:read admin:write\")")
	platform := fs.Bool("platform", false, "platform_token claim (cross-tenant token; use with --scope admin:read/admin:write)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.HS256Secret == "" {
		return errors.New("token: set SESSIOND_JWT_HS256_SECRET (the dev server prints the one it generated)")
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	o, err := auth.RoleOptions(*role)
	if err != nil {
		return err
	}
	if *sub != "" {
		o.Subject = *sub
	}
	if *scope != "" {
		o.Scope = *scope
	}
	o.TenantID, o.PartnerID, o.SessionID, o.Platform, o.TTL = *tenant, *partner, *sid, *platform, *ttl
	o.Issuer, o.Audience = cfg.Issuer, cfg.Audience
	tok, err := auth.MintHS256([]byte(cfg.HS256Secret), o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, tok)
	return err
}

// printDevBanner prints the dev-mode tokens and a ready curl line.
func printDevBanner(out io.Writer, cfg config.Config, addr string) error {
	admin, err := auth.MintHS256([]byte(cfg.HS256Secret), auth.MintOptions{Subject: "dev-admin", Role: auth.RoleSuperAdmin, TTL: 24 * time.Hour})
	if err != nil {
		return err
	}
	svc, err := auth.RoleOptions("service")
	if err != nil {
		return err
	}
	svc.TTL = 24 * time.Hour
	service, err := auth.MintHS256([]byte(cfg.HS256Secret), svc)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	base := "http://" + net.JoinHostPort(host, port)
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== sessiond DEV MODE: in-memory store, nothing persists; tokens below are valid 24h ===\n\n")
	fmt.Fprintf(&b, "super_admin token:\n  export ADMIN_TOKEN=%s\n\n", admin)
	fmt.Fprintf(&b, "service token (sessions:read sessions:write):\n  export SERVICE_TOKEN=%s\n\n", service)
	fmt.Fprintf(&b, "create a session, then list sessions:\n")
	fmt.Fprintf(&b, "  curl -s -X POST %s/api/v1/internal/sessions -H \"Authorization: Bearer $SERVICE_TOKEN\" -H 'Content-Type: application/json' -d '{\"user_id\":\"u1\",\"tenant_id\":\"t1\",\"partner_id\":\"p1\",\"ttl_seconds\":3600,\"user_agent\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"}'\n", base)
	fmt.Fprintf(&b, "  curl -s %s/api/v1/admin/sessions -H \"Authorization: Bearer $ADMIN_TOKEN\"\n\n", base)
	if cfg.Console {
		// The token rides in the fragment, which browsers never send.
		fmt.Fprintf(&b, "browser console, signed in as super_admin:\n  %s/console#token=%s\n\n", base, admin)
	}
	fmt.Fprintf(&b, "mint more tokens (dev secret of this run only):\n  SESSIOND_JWT_HS256_SECRET=%s go run ./cmd/sessiond token --role tenant_admin --tenant t1\n\n", cfg.HS256Secret)
	_, err = io.WriteString(out, b.String())
	return err
}
