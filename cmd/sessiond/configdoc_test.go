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
)

// envNames are the environment variables the Go files of dir read, found as
// the string constants named "SESSIOND_…" or passed to a getenv call.
func envNames(tb testing.TB, dir string) []string {
	tb.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err == nil && regexp.MustCompile(`^SESSIOND_[A-Z0-9_]+$`).MatchString(v) && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
			return true
		})
	}
	return out
}

// TestConfigurationDocumented: every SESSIOND_ variable the server's code
// reads has a row in docs/configuration.md, and the doc names no variable
// the code does not read.
func TestConfigurationDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, dir := range []string{"../../pkg/config", "."} {
		for _, v := range envNames(t, dir) {
			read[v] = true
		}
	}
	if len(read) < 10 {
		t.Fatalf("found only %d variables in the code: the test no longer finds them", len(read))
	}
	for v := range read {
		if !strings.Contains(string(doc), "| `"+v+"`") {
			t.Errorf("%s is read by the code but has no row in docs/configuration.md", v)
		}
	}
	for _, m := range regexp.MustCompile("\\| `(SESSIOND_[A-Z0-9_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if !read[m[1]] {
			t.Errorf("docs/configuration.md documents %s, which the server does not read", m[1])
		}
	}
}
