// Package console serves the tenant admin's browser console: a single page
// and its assets, embedded in the binary, that talks to the public REST API
// only.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console"

// CSP is the Content-Security-Policy of every console response: only the
// console's own scripts, styles, images and API calls; no inline script or
// style, no eval, no plugins, no framing, no form submissions (the sign-in
// form is handled by script, so a token can never end up in a URL), and
// Trusted Types enforced with no policy allowed, so that no string can reach
// an HTML sink such as innerHTML even by mistake.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// file is one embedded asset with its validator.
type file struct {
	body []byte
	etag string
}

// load reads every embedded asset once; the files are part of the build,
// so a failure is a programming error.
func load() map[string]file {
	files := map[string]file{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		files[strings.TrimPrefix(p, "assets/")] = file{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return files
}

// Handler serves GET /console (the page) and GET /console/<asset>; any
// other path below /console is 404 (no directory listings, no index of a
// folder). Every response carries CSP, nosniff and no-referrer.
func Handler() http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		name, ok := assetName(r.URL.Path)
		f, found := files[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}

// assetName maps a request path to an asset: /console and /console/ are
// the page, /console/<name> is <name>. Paths outside the prefix, with
// empty, "." or ".." segments, or ending in a slash name no asset.
func assetName(p string) (string, bool) {
	if p == Prefix || p == Prefix+"/" {
		return "index.html", true
	}
	rest, ok := strings.CutPrefix(p, Prefix+"/")
	if !ok || rest == "" {
		return "", false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return rest, true
}
