package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/go-cmp/cmp"
	"github.com/sessiond/sessiond/internal/testserver"
)

// refEndpoint is one endpoint of the reference (seed/sessions-api.txt): its
// parameters as "in:name" (required ones marked with "!"), its success
// status and the schema the reference names for it ("" for any/object).
type refEndpoint struct {
	method, path string
	params       []string
	body         bool // a required request body
	ok           int
	schema       string
}

var referenceEndpoints = []refEndpoint{
	{"GET", "/api/v1/admin/sessions/", []string{"query:page", "query:per_page", "query:user_id", "query:tenant_id", "query:partner_id", "header:authorization"}, false, 200, ""},
	{"POST", "/api/v1/admin/sessions/revoke-all", []string{"header:authorization"}, true, 200, ""},
	{"DELETE", "/api/v1/admin/sessions/{session_id}", []string{"path:session_id!", "header:authorization"}, false, 204, ""},
	{"GET", "/api/v1/admin/sessions/{session_id}", []string{"path:session_id!", "header:authorization"}, false, 200, ""},
	{"GET", "/api/v1/me/sessions", []string{"header:authorization"}, false, 200, ""},
	{"POST", "/api/v1/me/sessions/revoke-all", []string{"header:authorization"}, false, 200, ""},
	{"DELETE", "/api/v1/me/sessions/{session_id}", []string{"path:session_id!", "header:authorization"}, false, 200, ""},
	{"GET", "/api/v1/tenants/{tenant_id}/sessions", []string{"path:tenant_id!", "query:user_id", "query:active_only", "query:page", "query:per_page"}, false, 200, "PaginatedResponse_SessionListItem_"},
	{"POST", "/api/v1/tenants/{tenant_id}/sessions/revoke-all", []string{"path:tenant_id!"}, false, 200, "ApiResponse_SessionRevokeResponse_"},
	{"GET", "/api/v1/tenants/{tenant_id}/sessions/stats", []string{"path:tenant_id!"}, false, 200, "ApiResponse_dict_str__Any__"},
	{"GET", "/api/v1/tenants/{tenant_id}/sessions/users/{user_id}", []string{"path:tenant_id!", "path:user_id!", "query:active_only", "query:page", "query:per_page"}, false, 200, "PaginatedResponse_SessionListItem_"},
	{"POST", "/api/v1/tenants/{tenant_id}/sessions/users/{user_id}/revoke", []string{"path:tenant_id!", "path:user_id!"}, true, 200, "ApiResponse_SessionRevokeResponse_"},
	{"DELETE", "/api/v1/tenants/{tenant_id}/sessions/{session_id}", []string{"path:tenant_id!", "path:session_id!"}, false, 204, ""},
	{"GET", "/api/v1/tenants/{tenant_id}/sessions/{session_id}", []string{"path:tenant_id!", "path:session_id!"}, false, 200, "ApiResponse_SessionResponse_"},
}

// referenceSchemas are the reference's components and their fields.
var referenceSchemas = map[string][]string{
	"ApiResponse_SessionResponse_":       {"data", "meta"},
	"ApiResponse_SessionRevokeResponse_": {"data", "meta"},
	"ApiResponse_dict_str__Any__":        {"data", "meta"},
	"HTTPValidationError":                {"detail"},
	"MetaResponse":                       {"request_id", "timestamp"},
	"PaginatedResponse_SessionListItem_": {"data", "pagination", "meta"},
	"PaginationMeta":                     {"page", "per_page", "total_items", "total_pages"},
	"SessionAppInfo":                     {"application_id", "application_name", "accessed_at"},
	"SessionListItem": {"id", "user_id", "user_email", "ip_address", "user_agent", "device_type", "is_current",
		"created_at", "last_activity_at", "expires_at", "app_count"},
	"SessionResponse": {"id", "user_id", "user_email", "user_display_name", "ip_address", "user_agent", "device_type",
		"location", "is_current", "created_at", "last_activity_at", "expires_at", "sso_apps"},
	"SessionRevokeRequest":  {"session_ids", "revoke_all", "except_current"},
	"SessionRevokeResponse": {"revoked_count", "session_ids"},
	"ValidationError":       {"loc", "msg", "type"},
}

// TestOpenAPIDocument loads /openapi.json with kin-openapi, validates it as
// OpenAPI 3.1, and checks it keeps the reference's endpoints and schemas.
func TestOpenAPIDocument(t *testing.T) {
	e, _ := newFullEnv(t, realRedis.NewClient(t), false)
	doc := mustLoadServedDoc(t, e)
	if !doc.IsOpenAPI31OrLater() || doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: got %q, want 3.1.0", doc.OpenAPI)
	}

	for _, ref := range referenceEndpoints {
		t.Run(ref.method+" "+ref.path, func(t *testing.T) {
			item := doc.Paths.Value(ref.path)
			if item == nil || item.GetOperation(ref.method) == nil {
				t.Fatalf("no operation %s %s", ref.method, ref.path)
			}
			op := item.GetOperation(ref.method)
			var got []string
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				s := p.Value.In + ":" + p.Value.Name
				if p.Value.Required {
					s += "!"
				}
				got = append(got, s)
			}
			if diff := cmp.Diff(sorted(ref.params), sorted(got)); diff != "" {
				t.Errorf("parameters (-reference +document):\n%s", diff)
			}
			if hasBody := op.RequestBody != nil && op.RequestBody.Value.Required; hasBody != ref.body {
				t.Errorf("required request body: got %v, want %v", hasBody, ref.body)
			}
			okResp := op.Responses.Status(ref.ok)
			if okResp == nil {
				t.Fatalf("no %d response", ref.ok)
			}
			if ref.schema != "" {
				if got := schemaName(okResp.Value.Content.Get("application/json").Schema); got != ref.schema {
					t.Errorf("%d schema: got %q, want %q", ref.ok, got, ref.schema)
				}
			}
			bad := op.Responses.Status(http.StatusUnprocessableEntity)
			if bad == nil || schemaName(bad.Value.Content.Get("application/json").Schema) != "HTTPValidationError" {
				t.Errorf("422: want a response with HTTPValidationError")
			}
		})
	}

	for name, fields := range referenceSchemas {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("components.schemas: no %s", name)
			continue
		}
		// Fields beyond the reference are extensions and say so.
		var got []string
		for f, p := range s.Value.Properties {
			if p.Value.Extensions["x-extension"] != true {
				got = append(got, f)
			}
		}
		if diff := cmp.Diff(sorted(fields), sorted(got)); diff != "" {
			t.Errorf("%s fields (-reference +document):\n%s", name, diff)
		}
	}

	// Every API operation needs the bearer token and documents its 401
	// with the challenge; the operations endpoints need nothing.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			api := strings.HasPrefix(path, "/api/v1/")
			if got := len(sec) == 1 && sec[0]["bearerAuth"] != nil; got != api {
				t.Errorf("%s %s: bearerAuth required: got %v, want %v", method, path, got, api)
			}
			if !api {
				continue
			}
			r := op.Responses.Status(http.StatusUnauthorized)
			if r == nil || r.Value.Headers["WWW-Authenticate"] == nil {
				t.Errorf("%s %s: want a 401 response with WWW-Authenticate", method, path)
			}
		}
	}
}

// schemaName is the component a schema names: its $ref, or the $ref of the
// first allOf member (a named envelope narrowed further).
func schemaName(s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	if s.Ref == "" && s.Value != nil && len(s.Value.AllOf) > 0 {
		s = s.Value.AllOf[0]
	}
	return strings.TrimPrefix(s.Ref, "#/components/schemas/")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// ginParam is a gin path parameter: ":name" or the catch-all "*name".
var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// TestOpenAPIRoutesMatchRouter compares the routes gin serves with the
// document's operations, both ways. The router is built as cmd/sessiond
// builds it, so /metrics and the event stream are on.
//
// Two routes need care:
//   - forward-auth answers every method a gateway may forward (GET, HEAD,
//     POST, PUT, PATCH, DELETE, OPTIONS), so the document has each as an
//     operation, on both verify paths; nothing is folded;
//   - "/api/v1/auth/verify/*original" is a catch-all: gin's *original
//     matches the rest of the path, "/" included, which an OpenAPI template
//     cannot say. It maps to "{original}" like a plain parameter, and the
//     document must mark that parameter with x-catch-all: true.
//
// Both /api/v1/admin/sessions and /api/v1/admin/sessions/ are routes, and
// both are in the document (the reference names the second).
func TestOpenAPIRoutesMatchRouter(t *testing.T) {
	e, g := newFullEnv(t, realRedis.NewClient(t), false)
	doc := mustLoadServedDoc(t, e)

	served := map[string]bool{}
	for _, r := range g.Routes() {
		path := r.Path
		for _, m := range ginParam.FindAllStringSubmatch(r.Path, -1) {
			if m[0][0] == '*' {
				mustCatchAll(t, doc, ginParam.ReplaceAllString(r.Path, "{$1}"), m[1])
			}
		}
		path = ginParam.ReplaceAllString(path, "{$1}")
		served[r.Method+" "+path] = true
	}
	documented := map[string]bool{}
	for _, op := range operations(doc) {
		documented[op] = true
	}
	missing, extra := testserver.SetDiff(served, documented)
	if len(missing) > 0 {
		t.Errorf("routes served but not in /openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations in /openapi.json that no route serves:\n  %s", strings.Join(extra, "\n  "))
	}
	t.Logf("routes: %d served by gin, %d operations documented", len(served), len(documented))
}

func mustCatchAll(t *testing.T, doc *openapi3.T, path, name string) {
	t.Helper()
	item := doc.Paths.Value(path)
	if item == nil {
		return // reported as a missing route
	}
	for _, p := range item.Parameters {
		if p.Value.Name == name && p.Value.In == "path" && p.Value.Extensions["x-catch-all"] == true {
			return
		}
	}
	t.Errorf("%s: gin's *%s matches the rest of the path; want the path parameter %s with x-catch-all: true", path, name, name)
}

// TestDocsPage checks that /docs is one self-contained page: it renders the
// document inlined in it and loads nothing, which its Content-Security-Policy
// enforces in the browser.
func TestDocsPage(t *testing.T) {
	e, _ := newFullEnv(t, realRedis.NewClient(t), false)
	r := e.get(t, "/docs", "")
	mustStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", ct)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q: want %q", csp, want)
		}
	}
	page := string(r.Body)
	for _, bad := range []string{" src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest", "innerHTML"} {
		if strings.Contains(page, bad) {
			t.Errorf("/docs holds %q: want a page that loads nothing and builds no HTML from strings", bad)
		}
	}
	_, rest, ok := strings.Cut(page, `<script type="application/json" id="openapi">`)
	inline, _, ok2 := strings.Cut(rest, "</script>")
	if !ok || !ok2 {
		t.Fatalf("/docs: no inline document")
	}
	var got, want any
	if err := json.Unmarshal([]byte(inline), &got); err != nil {
		t.Fatalf("/docs inline document: %v", err)
	}
	if err := json.Unmarshal(e.get(t, "/openapi.json", "").Body, &want); err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
	if !cmp.Equal(got, want) {
		t.Errorf("/docs renders another document than /openapi.json")
	}
}

// TestOpenAPIStrict makes sure the conformance test can fail: answers with
// an undeclared field, a missing field, a wrong null or an undeclared status
// are rejected.
func TestOpenAPIStrict(t *testing.T) {
	e, _ := newFullEnv(t, realRedis.NewClient(t), false)
	doc := mustLoadServedDoc(t, e)
	closeObjects(doc)
	v := newDocValidator(t, doc)
	item := `{"id":"s","user_id":"u","user_email":null,"ip_address":null,"user_agent":null,"device_type":"desktop","is_current":false,` +
		`"created_at":"2026-01-02T03:04:05.678Z","last_activity_at":null,"expires_at":"2026-01-02T03:04:05.678Z","app_count":0}`
	meta := `"meta":{"request_id":"r","timestamp":"2026-01-02T03:04:05.678Z"}`
	cases := []struct {
		name, path string
		status     int
		body       string
		valid      bool
	}{
		{"the control is valid", "/api/v1/me/sessions", 200, `{"data":[` + item + `],` + meta + `}`, true},
		{"undeclared field", "/api/v1/me/sessions", 200, `{"data":[` + item + `],` + meta + `,"extra":1}`, false},
		{"undeclared nested field", "/api/v1/me/sessions", 200, `{"data":[` + strings.Replace(item, `"id"`, `"x":1,"id"`, 1) + `],` + meta + `}`, false},
		{"missing user_email", "/api/v1/me/sessions", 200, `{"data":[` + strings.Replace(item, `"user_email":null,`, "", 1) + `],` + meta + `}`, false},
		{"null id", "/api/v1/me/sessions", 200, `{"data":[` + strings.Replace(item, `"id":"s"`, `"id":null`, 1) + `],` + meta + `}`, false},
		{"unknown device type", "/api/v1/me/sessions", 200, `{"data":[` + strings.Replace(item, `desktop`, `fridge`, 1) + `],` + meta + `}`, false},
		{"undeclared status", "/api/v1/me/sessions", 418, `{"detail":"teapot"}`, false},
		{"422 with a string detail", "/api/v1/admin/sessions/s", 422, `{"detail":"bad"}`, false},
		{"stats without its figures", "/api/v1/tenants/T1/sessions/stats", 200, `{"data":{"tenant_id":"T1"},` + meta + `}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hr := httptest.NewRequest(http.MethodGet, tc.path, nil)
			route, params, err := v.router.FindRoute(hr)
			if err != nil {
				t.Fatalf("FindRoute: %v", err)
			}
			h := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r"}}
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route},
				Status:                 tc.status, Header: h, Body: io.NopCloser(strings.NewReader(tc.body)),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			})
			if got := err == nil; got != tc.valid {
				t.Errorf("valid: got %v, want %v (%v)", got, tc.valid, err)
			}
		})
	}
}
