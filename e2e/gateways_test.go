package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// The shipped gateway files. nginx's and Caddy's run for real
// (TestGatewayForwardAuth); Traefik's and Envoy's, reference configurations
// that no test can run here, are parsed (duplicate keys are errors) and
// checked for what deploy/gateways/README.md promises: the verify address
// and path, the identity headers copied and never taken from the client,
// what is sent to sessiond, timeouts and failing closed.
const (
	traefikFile = "../deploy/gateways/traefik-dynamic.yml"
	envoyFile   = "../deploy/gateways/envoy.yaml"
	readmeFile  = "../deploy/gateways/README.md"
)

var identityHeaders = []string{"X-Session-Id", "X-User-Id", "X-Tenant-Id", "X-Partner-Id"}

func TestTraefikConfig(t *testing.T) {
	t.Parallel()
	doc := mustParseYAML(t, traefikFile)
	fa := dig(t, doc, "http", "middlewares", "sessiond-auth", "forwardAuth")
	if got := dig(t, fa, "address"); got != "http://sessiond:8080/api/v1/auth/verify" {
		t.Errorf("forwardAuth.address = %v, want http://sessiond:8080/api/v1/auth/verify", got)
	}
	if got, ok := dig(t, fa, "trustForwardHeader").(bool); !ok || got {
		t.Errorf("forwardAuth.trustForwardHeader = %v, want false (explicitly)", dig(t, fa, "trustForwardHeader"))
	}
	if got := strs(t, dig(t, fa, "authResponseHeaders")); !slices.Equal(got, identityHeaders) {
		t.Errorf("forwardAuth.authResponseHeaders = %q, want %q", got, identityHeaders)
	}
	// Like nginx: sessiond gets no cookies and no client identity header.
	if got, want := strs(t, dig(t, fa, "authRequestHeaders")), []string{"Authorization", "X-Request-ID"}; !slices.Equal(got, want) {
		t.Errorf("forwardAuth.authRequestHeaders = %q, want %q", got, want)
	}
	// forwardAuth replaces only the dash spellings: the other middleware
	// removes the underscore ones, whatever their case.
	removed := map[string]bool{}
	for name, v := range dig(t, doc, "http", "middlewares", "sessiond-strip-identity", "headers", "customRequestHeaders").(map[string]any) {
		if v == "" {
			removed[http.CanonicalHeaderKey(name)] = true
		}
	}
	for _, h := range identityHeaders {
		for _, spelling := range underscoreSpellings(h) {
			if !removed[http.CanonicalHeaderKey(spelling)] {
				t.Errorf("sessiond-strip-identity does not remove %s sent by the client", spelling)
			}
		}
	}
	router := dig(t, doc, "http", "routers", "app")
	if got, want := strs(t, dig(t, router, "middlewares")), []string{"sessiond-strip-identity", "sessiond-auth"}; !slices.Equal(got, want) {
		t.Errorf("routers.app.middlewares = %q, want %q", got, want)
	}
	svc := dig(t, router, "service").(string)
	dig(t, doc, "http", "services", svc, "loadBalancer", "servers")
}

func TestEnvoyConfig(t *testing.T) {
	t.Parallel()
	doc := mustParseYAML(t, envoyFile)
	listeners := list(t, dig(t, doc, "static_resources", "listeners"))
	if len(listeners) != 1 {
		t.Fatalf("%d listeners, want 1", len(listeners))
	}
	chains := list(t, dig(t, listeners[0], "filter_chains"))
	hcm := dig(t, list(t, dig(t, chains[0], "filters"))[0], "typed_config")
	if got := dig(t, hcm, "@type"); got != "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager" {
		t.Fatalf("first network filter is %v, want the HTTP connection manager", got)
	}
	// The mutation below removes only the dash spellings.
	if got := dig(t, hcm, "common_http_protocol_options", "headers_with_underscores_action"); got != "DROP_HEADER" {
		t.Errorf("headers_with_underscores_action = %v, want DROP_HEADER (Envoy passes X_User_Id by default)", got)
	}

	var names []string
	filters := map[string]any{}
	for _, f := range list(t, dig(t, hcm, "http_filters")) {
		name := dig(t, f, "name").(string)
		names = append(names, name)
		filters[name] = dig(t, f, "typed_config")
	}
	want := []string{"envoy.filters.http.header_mutation", "envoy.filters.http.ext_authz", "envoy.filters.http.router"}
	if !slices.Equal(names, want) {
		t.Fatalf("http_filters = %q, want %q (strip forged headers, then check, then route)", names, want)
	}

	removed := map[string]bool{}
	for _, m := range list(t, dig(t, filters["envoy.filters.http.header_mutation"], "mutations", "request_mutations")) {
		removed[strings.ToLower(dig(t, m, "remove").(string))] = true
	}
	for _, h := range identityHeaders {
		if !removed[strings.ToLower(h)] {
			t.Errorf("header_mutation does not remove %s sent by the client", h)
		}
	}

	authz := filters["envoy.filters.http.ext_authz"]
	if got := dig(t, authz, "@type"); got != "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz" {
		t.Errorf("ext_authz @type = %v", got)
	}
	if got, ok := dig(t, authz, "failure_mode_allow").(bool); !ok || got {
		t.Errorf("failure_mode_allow = %v, want false (explicitly)", dig(t, authz, "failure_mode_allow"))
	}
	if got := dig(t, authz, "status_on_error", "code"); got != "ServiceUnavailable" {
		t.Errorf("status_on_error.code = %v, want ServiceUnavailable", got)
	}
	// Like nginx: sessiond gets no cookies, no body and no client identity
	// header.
	if got, want := matchers(t, dig(t, authz, "allowed_headers")), []string{"authorization", "x-request-id"}; !slices.Equal(got, want) {
		t.Errorf("allowed_headers = %q, want %q", got, want)
	}
	if _, ok := authz.(map[string]any)["with_request_body"]; ok {
		t.Error("ext_authz sends the request body to sessiond (with_request_body)")
	}
	hs := dig(t, authz, "http_service")
	if got := dig(t, hs, "server_uri", "uri"); got != "http://sessiond:8080" {
		t.Errorf("server_uri.uri = %v, want http://sessiond:8080", got)
	}
	if got := dig(t, hs, "server_uri", "timeout"); got != "2s" {
		t.Errorf("server_uri.timeout = %v, want 2s: above sessiond's Redis timeout, so a slow Redis shows as its 503", got)
	}
	if got := dig(t, hs, "path_prefix"); got != "/api/v1/auth/verify" {
		t.Errorf("path_prefix = %v, want /api/v1/auth/verify", got)
	}
	var wantUp []string
	for _, h := range identityHeaders {
		wantUp = append(wantUp, strings.ToLower(h))
	}
	if got := matchers(t, dig(t, hs, "authorization_response", "allowed_upstream_headers")); !slices.Equal(got, wantUp) {
		t.Errorf("allowed_upstream_headers = %q, want %q", got, wantUp)
	}
	if got := matchers(t, dig(t, hs, "authorization_response", "allowed_client_headers")); !slices.Contains(got, "www-authenticate") {
		t.Errorf("allowed_client_headers = %q, want www-authenticate", got)
	}

	clusters := map[string]any{}
	for _, c := range list(t, dig(t, doc, "static_resources", "clusters")) {
		clusters[dig(t, c, "name").(string)] = c
	}
	c, ok := clusters[dig(t, hs, "server_uri", "cluster").(string)]
	if !ok {
		t.Fatalf("server_uri.cluster %v is not among the clusters", dig(t, hs, "server_uri", "cluster"))
	}
	if got := dig(t, c, "connect_timeout"); got != "1s" {
		t.Errorf("sessiond cluster connect_timeout = %v, want 1s (fail fast, like nginx)", got)
	}
	ep := dig(t, list(t, dig(t, list(t, dig(t, c, "load_assignment", "endpoints"))[0], "lb_endpoints"))[0], "endpoint", "address", "socket_address")
	if host, port := dig(t, ep, "address"), dig(t, ep, "port_value"); host != "sessiond" || fmt.Sprint(port) != "8080" {
		t.Errorf("sessiond cluster endpoint %v:%v, want sessiond:8080", host, port)
	}
}

// TestNginxSnippetStatic checks what the live tests cannot see: that the
// snippet keeps the directives the README documents.
func TestNginxSnippetStatic(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(shippedNginxConf)
	if err != nil {
		t.Fatal(err)
	}
	var directives []string
	for line := range strings.Lines(string(b)) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			directives = append(directives, line)
		}
	}
	for _, want := range []string{
		"auth_request /_sessiond_verify;",
		"location = /_sessiond_verify {",
		"internal;",
		"proxy_pass http://sessiond/api/v1/auth/verify;",
		"proxy_pass_request_body off;",
		`proxy_set_header Content-Length "";`,
		"proxy_set_header Authorization $http_authorization;",
		"auth_request_set $sessiond_session_id $upstream_http_x_session_id;",
		"auth_request_set $sessiond_user_id $upstream_http_x_user_id;",
		"auth_request_set $sessiond_tenant_id $upstream_http_x_tenant_id;",
		"auth_request_set $sessiond_partner_id $upstream_http_x_partner_id;",
		"proxy_set_header X-Session-Id $sessiond_session_id;",
		"proxy_set_header X-User-Id $sessiond_user_id;",
		"proxy_set_header X-Tenant-Id $sessiond_tenant_id;",
		"proxy_set_header X-Partner-Id $sessiond_partner_id;",
		"error_page 500 = @sessiond_unavailable;",
		"underscores_in_headers off;",
		"ignore_invalid_headers on;",
		"proxy_pass_request_headers off;",
	} {
		if !slices.Contains(directives, want) {
			t.Errorf("%s lacks %q", shippedNginxConf, want)
		}
	}
	for _, d := range directives {
		if strings.HasPrefix(d, "proxy_cache ") || strings.HasPrefix(d, "proxy_intercept_errors on") {
			t.Errorf("%s has %q: revocations must take effect at once, and the application's errors stay its own", shippedNginxConf, d)
		}
	}
}

func TestGatewaysReadme(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nginx/sessiond.conf", "caddy/caddyfile", "traefik-dynamic.yml", "envoy.yaml", "fail closed", "e2e/", "reference"} {
		if !strings.Contains(strings.ToLower(string(b)), want) {
			t.Errorf("%s does not mention %q", readmeFile, want)
		}
	}
}

func mustParseYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

// dig walks nested mappings; a missing key fails the test.
func dig(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a mapping (%T)", strings.Join(keys[:i], "."), v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want a sequence, got %T", v)
	}
	return l
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, e := range list(t, v) {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("want strings, got %T", e)
		}
		out = append(out, s)
	}
	return out
}

// matchers lists the exact values of an Envoy ListStringMatcher, lowercased
// when the matcher ignores case.
func matchers(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, p := range list(t, dig(t, v, "patterns")) {
		s := dig(t, p, "exact").(string)
		if ic, _ := p.(map[string]any)["ignore_case"].(bool); ic {
			s = strings.ToLower(s)
		}
		out = append(out, s)
	}
	return out
}

// underscoreSpellings are the spellings of a dash-separated header name
// with one or more of its dashes as underscores.
func underscoreSpellings(name string) []string {
	parts := strings.Split(name, "-")
	var out []string
	for mask := 1; mask < 1<<(len(parts)-1); mask++ {
		s := parts[0]
		for i, p := range parts[1:] {
			sep := "-"
			if mask&(1<<i) != 0 {
				sep = "_"
			}
			s += sep + p
		}
		out = append(out, s)
	}
	return out
}
