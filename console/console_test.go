package console_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/console"
)

// get sends one request to the console handler.
func get(tb testing.TB, path string, header http.Header) *httptest.ResponseRecorder {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	console.Handler().ServeHTTP(rec, req)
	return rec
}

// checkSecurityHeaders fails unless every console response, found or not,
// carries the policy headers.
func checkSecurityHeaders(tb testing.TB, path string, h http.Header) {
	tb.Helper()
	want := map[string]string{
		"Content-Security-Policy": console.CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			tb.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
		}
	}
}

func TestConsoleCSPIsStrict(t *testing.T) {
	directives := map[string]string{}
	for d := range strings.SplitSeq(console.CSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":               "'self'",
		"script-src":                "'self'",
		"style-src":                 "'self'",
		"connect-src":               "'self'",
		"object-src":                "'none'",
		"base-uri":                  "'none'",
		"form-action":               "'none'",
		"frame-ancestors":           "'none'",
		"require-trusted-types-for": "'script'",
		"trusted-types":             "'none'",
	}
	for k, v := range want {
		if got := directives[k]; got != v {
			t.Errorf("CSP %s = %q, want %q", k, got, v)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "data:", "*", "http:", "https:"} {
		if strings.Contains(console.CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, console.CSP)
		}
	}
}

func TestConsoleHandlerServesAssets(t *testing.T) {
	tests := []struct {
		path, contentType, contains string
	}{
		{"/console", "text/html; charset=utf-8", `<script type="module" src="/console/js/main.js">`},
		{"/console/", "text/html; charset=utf-8", "<title>sessiond console</title>"},
		{"/console/index.html", "text/html; charset=utf-8", "<title>sessiond console</title>"},
		{"/console/console.css", "text/css; charset=utf-8", ":root"},
		{"/console/js/main.js", "text/javascript; charset=utf-8", "import"},
		{"/console/js/token.js", "text/javascript; charset=utf-8", "sessionStorage"},
		{"/console/favicon.svg", "image/svg+xml", "<svg"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec := get(t, tc.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200", tc.path, rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("GET %s: Content-Type = %q, want %q", tc.path, got, tc.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("GET %s: Cache-Control = %q, want no-cache", tc.path, got)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
			}
			checkSecurityHeaders(t, tc.path, rec.Header())
		})
	}
}

func TestConsoleHandlerNotFound(t *testing.T) {
	for _, path := range []string{
		"/console/js",            // a directory
		"/console/js/",           // a directory with a slash
		"/console/nope.js",       // missing
		"/console/../console.go", // outside the assets
		"/console/js/../main.js", // dot segments
		"/console/./index.html",  // dot segments
		"/console//index.html",   // empty segment
		"/console/assets/index.html",
		"/consoleindex.html", // outside the prefix
		"/index.html",
	} {
		t.Run(path, func(t *testing.T) {
			rec := get(t, path, nil)
			if rec.Code != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "<a href") {
				t.Errorf("GET %s looks like a directory listing: %s", path, rec.Body.String())
			}
			checkSecurityHeaders(t, path, rec.Header())
		})
	}
}

func TestConsoleHandlerETag(t *testing.T) {
	first := get(t, "/console/console.css", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("GET /console/console.css has no ETag")
	}
	again := get(t, "/console/console.css", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s = %d, want 304", etag, again.Code)
	}
}

// assetFiles lists the embedded files by their path below assets/.
func assetFiles(tb testing.TB) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir("assets", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, filepath.ToSlash(strings.TrimPrefix(p, "assets"+string(filepath.Separator))))
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

func mustRead(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("assets", filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestAssetsStayStatic guards what the CSP also enforces, so that a change
// fails here with a reason rather than as a blank page in a browser: no
// inline scripts or styles, no HTML sinks, no eval, nothing from another
// origin, and every referenced asset and element id exists.
func TestConsoleAssetsStayStatic(t *testing.T) {
	names := assetFiles(t)
	index := mustRead(t, "index.html")

	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with inline content
		regexp.MustCompile(`<style\b`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?i)(src|href)="(https?:)?//`),
	} {
		if m := bad.FindString(index); m != "" {
			t.Errorf("index.html has %q (matched %s)", m, bad)
		}
	}
	for _, tag := range regexp.MustCompile(`<script\b[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, ` src="/console/`) {
			t.Errorf("index.html has a script that is not a console asset: %s", tag)
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="/console/([^"]+)"`).FindAllStringSubmatch(index, -1) {
		if !slices.Contains(names, m[1]) {
			t.Errorf("index.html references /console/%s, which is not embedded", m[1])
		}
	}

	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		ids[m[1]] = true
	}
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(\s*['"]|\.setAttribute\(\s*['"]on|\.style\s*=|cssText`)
	imports := regexp.MustCompile(`from '\./([a-z]+\.js)'`)
	lookups := regexp.MustCompile(`\$\('([A-Za-z0-9_-]+)'\)`)
	for _, name := range names {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		src := mustRead(t, name)
		if m := sinks.FindString(src); m != "" {
			t.Errorf("%s uses %q: render API strings as text", name, m)
		}
		for _, m := range imports.FindAllStringSubmatch(src, -1) {
			if !slices.Contains(names, "js/"+m[1]) {
				t.Errorf("%s imports ./%s, which is not embedded", name, m[1])
			}
		}
		for _, m := range lookups.FindAllStringSubmatch(src, -1) {
			if !ids[m[1]] {
				t.Errorf("%s looks up #%s, which index.html lacks", name, m[1])
			}
		}
	}
}
