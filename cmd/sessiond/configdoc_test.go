package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/testserver"
	"github.com/sessiond/sessiond/pkg/config"
)

// configDoc is the page that must document every variable the code reads.
const configDoc = "../../docs/configuration.md"

// configDirs hold the code that reads the environment besides pkg/config
// (whose variables config.Variables lists): cmd/sessiond (GOGC) and
// cmd/sessionctl (its URL and token).
var configDirs = []string{".", "../sessionctl"}

var (
	envName = regexp.MustCompile(`^SESSIOND_[A-Z0-9_]+$`)
	// docRow is a table row whose first cell names a variable.
	docRow = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|")
)

// parseDir parses the non-test Go files of dir.
func parseDir(tb testing.TB, dir string) []*ast.File {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		tb.Fatalf("no Go files in %s: the test no longer finds the code", dir)
	}
	return files
}

// envReads are the environment variables the Go files of dir read: every
// string literal that is a whole SESSIOND_… name (the Env* constants,
// sessionctl's getenv arguments), and every literal passed to a getenv,
// os.Getenv or os.LookupEnv call (GOGC).
func envReads(tb testing.TB, dir string) map[string]bool {
	tb.Helper()
	out := map[string]bool{}
	literal := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		v, err := strconv.Unquote(lit.Value)
		return v, err == nil
	}
	for _, f := range parseDir(tb, dir) {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if v, ok := literal(n); ok && envName.MatchString(v) {
					out[v] = true
				}
			case *ast.CallExpr:
				var fn string
				switch f := n.Fun.(type) {
				case *ast.Ident:
					fn = f.Name
				case *ast.SelectorExpr:
					fn = f.Sel.Name
				}
				if l := strings.ToLower(fn); (l == "getenv" || l == "lookupenv") && len(n.Args) == 1 {
					if v, ok := literal(n.Args[0]); ok {
						out[v] = true
					}
				}
			}
			return true
		})
	}
	return out
}

// TestConfigurationDocumented: every environment variable the code reads
// has a row in docs/configuration.md, and every row names a variable the
// code reads. Like the OpenAPI-versus-router test, it keeps the reference
// and the code from drifting apart.
func TestConfigurationDocumented(t *testing.T) {
	raw, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range docRow.FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]] = true
	}

	read := map[string]bool{}
	for _, dir := range configDirs {
		for v := range envReads(t, dir) {
			read[v] = true
		}
	}
	loaded := config.Variables()
	if len(loaded) < 20 {
		t.Fatalf("config.Variables lists %d variables, want at least 20: %v", len(loaded), loaded)
	}
	for _, v := range loaded {
		read[v] = true
	}
	for _, want := range []string{"GOGC", "SESSIOND_URL", "SESSIOND_TOKEN"} {
		if !read[want] {
			t.Fatalf("the scan did not find %s, which the code reads: the test is broken", want)
		}
	}

	missing, extra := testserver.SetDiff(read, documented)
	if len(missing) > 0 {
		t.Errorf("read by the code but without a row (| `NAME` | …) in docs/configuration.md:\n  %s",
			strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("documented in docs/configuration.md but read by no code in %v:\n  %s",
			append([]string{"pkg/config"}, configDirs...), strings.Join(extra, "\n  "))
	}
}
