package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/sessiond/sessiond/handlers"
	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/config"
	"github.com/sessiond/sessiond/pkg/metrics"
)

// newFullEnv builds the router as cmd/sessiond does, with every optional
// route on: metrics (/metrics) and the revocation stream (its broker runs
// when runBroker is set; a router on a dead Redis needs the route only).
func newFullEnv(tb testing.TB, rdb redis.UniversalClient, runBroker bool) (*env, *gin.Engine) {
	tb.Helper()
	e := &env{rdb: rdb, now: time.Now().UTC().Truncate(time.Millisecond)}
	srv := testserver.New(tb, rdb, testserver.Options{
		Events: true, NoTail: !runBroker, Metrics: metrics.New("test"), Push: true,
		Config: func(c *config.Config) { c.MaxSessionLifetime = maxLifetime },
		Deps: func(d *handlers.Deps) {
			d.Now = func() time.Time { return e.now }
			d.KeepAlive = time.Second
		},
	})
	g := srv.Handler
	e.router = g
	return e, g
}

// mustLoadServedDoc fetches /openapi.json from the router and loads and
// validates it with kin-openapi.
func mustLoadServedDoc(tb testing.TB, e *env) *openapi3.T {
	tb.Helper()
	r := e.get(tb, "/openapi.json", "")
	mustStatus(tb, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("/openapi.json Content-Type: got %q, want application/json", ct)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		tb.Fatalf("load /openapi.json: %v", err)
	}
	// doc.Validate turns on OpenAPI 3.1 (JSON Schema 2020-12) rules itself
	// for an "openapi: 3.1.x" document; the options make it check examples,
	// defaults, formats and patterns too, and report every problem.
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaDefaultsValidation(),
		openapi3.EnableSchemaFormatValidation(), openapi3.EnableSchemaPatternValidation(), openapi3.EnableMultiError()); err != nil {
		tb.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// closeObjects makes every object schema of the document's components that
// lists its properties and says nothing of others reject unknown fields, so
// that a response with a field the document does not declare fails.
func closeObjects(doc *openapi3.T) {
	closed := false
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
}

// docValidator validates requests and responses against a document and
// counts what it validated.
type docValidator struct {
	doc    *openapi3.T
	router routers.Router

	mu        sync.Mutex
	responses int                     // responses validated
	requests  int                     // requests validated
	seen      map[string]map[int]bool // "METHOD /path" -> statuses validated
}

func newDocValidator(tb testing.TB, doc *openapi3.T) *docValidator {
	tb.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("gorillamux.NewRouter: %v", err)
	}
	return &docValidator{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// exchange is one request the router served and what it answered.
type exchange struct {
	method, path string
	docMethod    string // the documented operation's method, when not method
	header       http.Header
	body         []byte
	resp         response
}

// validate checks resp against the operation the document has for the
// request: its status must be declared (IncludeResponseStatus), and the
// declared headers and body must match. A 2xx answer also means the request
// was valid, so the document must accept the request too. kin-openapi's
// ValidateResponse skips HEAD requests altogether, so a HEAD answer is
// presented as a GET's, validated against the HEAD operation's route with
// its status and headers, the body left out.
func (v *docValidator) validate(tb testing.TB, x exchange) {
	tb.Helper()
	hr := httptest.NewRequest(x.method, x.path, bytes.NewReader(x.body))
	for k, vs := range x.header {
		hr.Header[k] = vs
	}
	if x.docMethod != "" {
		hr.Method = x.docMethod
	}
	route, params, err := v.router.FindRoute(hr)
	if err != nil {
		tb.Errorf("%s %s: no operation in the document: %v", x.method, x.path, err)
		return
	}
	ctx := context.Background()
	reqIn := &openapi3filter.RequestValidationInput{
		Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true},
	}
	if x.resp.Code >= 200 && x.resp.Code < 300 {
		if err := openapi3filter.ValidateRequest(ctx, reqIn); err != nil {
			tb.Errorf("%s %s answered %d, but the document rejects the request: %v", x.method, x.path, x.resp.Code, err)
		} else {
			v.mu.Lock()
			v.requests++
			v.mu.Unlock()
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	if x.method == http.MethodHead {
		asGet := hr.Clone(ctx)
		asGet.Method = http.MethodGet
		reqIn = &openapi3filter.RequestValidationInput{Request: asGet, PathParams: params, Route: route}
		// httptest.ResponseRecorder keeps what a handler writes to a HEAD
		// response; net/http's server drops it.
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: x.resp.Code, Header: x.resp.Header,
		Body: io.NopCloser(bytes.NewReader(x.resp.Body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		tb.Errorf("%s %s: response %d does not match the document: %v\nheaders: %v\nbody: %s",
			x.method, x.path, x.resp.Code, err, x.resp.Header, x.resp.Body)
		return
	}
	key := strings.ToUpper(hr.Method) + " " + route.Path
	v.mu.Lock()
	defer v.mu.Unlock()
	v.responses++
	if v.seen[key] == nil {
		v.seen[key] = map[int]bool{}
	}
	v.seen[key][x.resp.Code] = true
}

// operations lists the document's operations as "METHOD /path".
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}
