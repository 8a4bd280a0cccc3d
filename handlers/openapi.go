package handlers

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// openapiYAML is the OpenAPI 3.1 document of every route. It is written as
// YAML, whose anchors let operations served by one handler share their
// parameters and responses, and served as JSON.
//
//go:embed openapi.yaml
var openapiYAML []byte

// docsTemplate renders the document in the browser with inline script and
// style only; docsPlaceholder is replaced by the document.
//
//go:embed docs.html
var docsTemplate []byte

const docsPlaceholder = "__OPENAPI_JSON__"

// apiDocs is built once at start: a document that does not convert stops
// the program at once rather than at the first request.
var apiDocs = mustBuildDocs(openapiYAML, docsTemplate)

// docs holds the served forms of the document.
type docs struct {
	json []byte // indented JSON, for /openapi.json
	html []byte // the docs page with the document inlined
	csp  string // the docs page's Content-Security-Policy
}

func mustBuildDocs(src, page []byte) docs {
	d, err := buildDocs(src, page)
	if err != nil {
		panic("handlers: OpenAPI document: " + err.Error())
	}
	return d
}

func buildDocs(src, page []byte) (docs, error) {
	raw, err := yaml.YAMLToJSON(src)
	if err != nil {
		return docs{}, fmt.Errorf("convert to JSON: %w", err)
	}
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return docs{}, fmt.Errorf("compact: %w", err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		return docs{}, fmt.Errorf("indent: %w", err)
	}
	indented.WriteByte('\n')
	// Inside <script>, "</script>" or "<!--" in a description would end the
	// element early; HTMLEscape writes <, > and & as \u escapes, which are
	// still the same JSON.
	var inline bytes.Buffer
	json.HTMLEscape(&inline, compact.Bytes())
	if bytes.Count(page, []byte(docsPlaceholder)) != 1 {
		return docs{}, fmt.Errorf("docs.html must hold %s once", docsPlaceholder)
	}
	html := bytes.Replace(page, []byte(docsPlaceholder), inline.Bytes(), 1)
	csp, err := contentSecurityPolicy(html)
	if err != nil {
		return docs{}, err
	}
	return docs{json: indented.Bytes(), html: html, csp: csp}, nil
}

// contentSecurityPolicy allows the page's own inline <script> and <style>
// (by hash) and nothing else: the page loads nothing from the network.
func contentSecurityPolicy(html []byte) (string, error) {
	script, err := inlineElement(html, "<script>", "</script>")
	if err != nil {
		return "", err
	}
	style, err := inlineElement(html, "<style>", "</style>")
	if err != nil {
		return "", err
	}
	return "default-src 'none'; script-src '" + sha256Source(script) + "'; style-src '" + sha256Source(style) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", nil
}

// inlineElement returns the content of the only element opened by exactly
// open (attributes make it another element, such as the JSON data block).
func inlineElement(html []byte, open, end string) ([]byte, error) {
	if bytes.Count(html, []byte(open)) != 1 {
		return nil, fmt.Errorf("docs.html must hold one %s", open)
	}
	_, rest, _ := bytes.Cut(html, []byte(open))
	body, _, ok := bytes.Cut(rest, []byte(end))
	if !ok {
		return nil, fmt.Errorf("docs.html: %s is not closed", open)
	}
	return body, nil
}

func sha256Source(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// registerDocs serves the OpenAPI document and the docs page.
func registerDocs(r *gin.Engine) {
	r.GET("/openapi.json", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json", apiDocs.json)
	})
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Content-Security-Policy", apiDocs.csp)
		c.Data(http.StatusOK, "text/html; charset=utf-8", apiDocs.html)
	})
}
