package main

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hspd/hsp"

// allowedImports lists, for each package of ours (a rule covers the
// subpackages that have none of their own), the packages of ours it may
// import directly; "x/..." allows x and everything under it. This is the
// layering of docs/design.md: dependencies point down only.
var allowedImports = map[string][]string{
	"":                      {"commands"},
	"commands":              {"rpc", "home", "daemon", "swarm/dht"},
	"daemon":                {"rpc", "home", "core", "core/store", "swarm", "swarm/..."},
	"rpc":                   {"rpc/schema", "core", "home"},
	"rpc/schema":            {},
	"home":                  {},
	"swarm":                 {"swarm/dht", "swarm/wire", "core"},
	"swarm/replicate":       {"swarm/wire", "core"},
	"swarm/dht":             {},
	"swarm/wire":            {"core"},
	"core/store":            {"core"},
	"core/coretest":         {"core"},
	"core":                  {},
	"bench":                 {"rpc", "home", "core", "core/store"},
	"examples":              {"daemon", "rpc", "home", "core", "swarm/dht"}, // swarm/dht: a DHT node for the example's daemons to meet through
	"soak":                  {},
	"internal/nodejs":       {},
	"internal/nodejs/npmci": {"internal/nodejs"},
}

// allowedTestImports adds what a package's tests may import besides.
var allowedTestImports = map[string][]string{
	// End-to-end tests of the binary talk to its daemon and to JS peers,
	// and look topics up from a DHT node of their own, as an outsider.
	"":           {"rpc", "home", "internal/nodejs", "swarm/dht"},
	"rpc":        {"core/coretest"},
	"core/store": {"core/coretest"},
	"daemon":     {"core/coretest"},
	"soak":       {"rpc", "home", "core"}, // drives a real daemon as clients do
	// The interop tests install their pinned JS peers through one helper.
	"swarm":           {"internal/nodejs"},
	"swarm/wire":      {"internal/nodejs"},
	"swarm/replicate": {"internal/nodejs"},
	"swarm/dht":       {"internal/nodejs"},
}

// fileOnlyImports narrows an allowed import to the files that need it:
// commands reaches the daemon only to run `hsp daemon`, and the DHT only to
// run `hsp dht`.
var fileOnlyImports = map[string]map[string][]string{
	"commands": {"daemon": {"daemon.go"}, "swarm/dht": {"dht.go"}},
}

// forbiddenDeps lists modules a package must not reach even indirectly.
var forbiddenDeps = map[string][]string{
	"core":       {"github.com/cockroachdb/pebble", "capnproto.org/go/capnp", "github.com/urfave/cli", "github.com/flynn/noise"},
	"home":       {"github.com/cockroachdb/pebble", "capnproto.org/go/capnp", "github.com/urfave/cli"},
	"core/store": {"capnproto.org/go/capnp", "github.com/urfave/cli"},
	"swarm": {"github.com/cockroachdb/pebble", "capnproto.org/go/capnp", "github.com/urfave/cli",
		module + "/rpc", module + "/daemon", module + "/commands", module + "/core/store"},
	"rpc": {"github.com/cockroachdb/pebble", "github.com/urfave/cli", module + "/swarm", module + "/daemon"},
}

// TestImportGraph fails when a package imports across the layering.
func TestImportGraph(t *testing.T) {
	lines := goList(t, "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .TestImports \" \"}}")
	if len(lines) < 8 {
		t.Fatalf("go list found only %d packages", len(lines))
	}
	for _, v := range importViolations(lines) {
		t.Error(v)
	}
}

// importViolations checks `go list` lines of the form
// "importPath|imports|testImports" against allowedImports.
func importViolations(lines []string) []string {
	var out []string
	for _, line := range lines {
		parts := strings.SplitN(line+"||", "|", 4)
		pkg := rel(parts[0])
		rule, ok := ruleFor(allowedImports, pkg)
		if !ok {
			out = append(out, "package "+strconv.Quote(pkg)+" has no rule in allowedImports")
			continue
		}
		check := func(imports string, allowed []string) {
			for _, imp := range strings.Fields(imports) {
				if target := rel(imp); strings.HasPrefix(imp, module) && !isAllowed(allowed, target) {
					out = append(out, pkgName(pkg)+" imports "+pkgName(target)+", which the layering forbids")
				}
			}
		}
		check(parts[1], rule)
		check(parts[2], append(slices.Clone(rule), allowedTestImports[pkg]...))
	}
	return out
}

// TestFileOnlyImports fails when a file imports what only certain files of
// its package may.
func TestFileOnlyImports(t *testing.T) {
	for pkg, rules := range fileOnlyImports {
		files, err := filepath.Glob(filepath.Join(pkg, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", pkg, err)
		}
		for _, f := range files {
			for _, v := range fileViolations(t, f, rules) {
				t.Error(v)
			}
		}
	}
}

func fileViolations(t *testing.T, file string, rules map[string][]string) []string {
	t.Helper()
	parsed, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, spec := range parsed.Imports {
		imp, _ := strconv.Unquote(spec.Path.Value)
		only, ok := rules[rel(imp)]
		if ok && strings.HasPrefix(imp, module) && !slices.Contains(only, filepath.Base(file)) {
			out = append(out, file+" imports "+rel(imp)+"; only "+strings.Join(only, ", ")+" may")
		}
	}
	return out
}

// TestForbiddenDeps fails when a package reaches a module it must not,
// directly or through others.
func TestForbiddenDeps(t *testing.T) {
	for _, v := range depViolations(goList(t, "{{.ImportPath}}|{{join .Deps \" \"}}")) {
		t.Error(v)
	}
}

func depViolations(lines []string) []string {
	var out []string
	for _, line := range lines {
		parts := strings.SplitN(line+"|", "|", 3)
		pkg := rel(parts[0])
		banned, ok := ruleFor(forbiddenDeps, pkg)
		if !ok {
			continue
		}
		for _, dep := range strings.Fields(parts[1]) {
			for _, b := range banned {
				if dep == b || strings.HasPrefix(dep, b+"/") {
					out = append(out, pkgName(pkg)+" depends on "+dep)
				}
			}
		}
	}
	return out
}

// TestPlantedImportsFail proves the checks above can fail: each planted
// import breaks a rule of docs/design.md.
func TestPlantedImportsFail(t *testing.T) {
	m := module + "/"
	for _, line := range []string{
		m + "swarm/dht|" + m + "core|",
		m + "swarm/replicate|" + m + "rpc|",
		m + "rpc|" + m + "swarm|",
		m + "rpc|" + m + "core/coretest|",
		m + "core|" + m + "home|",
		m + "home|" + m + "core|",
		m + "commands||" + m + "core/store",
		m + "newpkg||",
	} {
		if len(importViolations([]string{line})) == 0 {
			t.Errorf("planted import %q passed the import graph check", line)
		}
	}
	for _, line := range []string{
		m + "swarm/replicate|github.com/cockroachdb/pebble/v2",
		m + "swarm|capnproto.org/go/capnp/v3",
		m + "swarm/wire|" + m + "daemon",
		m + "core|github.com/flynn/noise",
	} {
		if len(depViolations([]string{line})) == 0 {
			t.Errorf("planted dependency %q passed the dependency check", line)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "ls.go")
	writeFile(t, bad, "package commands\n\nimport _ \""+m+"daemon\"\n")
	if len(fileViolations(t, bad, fileOnlyImports["commands"])) == 0 {
		t.Error("a planted import of daemon in commands/ls.go passed the file check")
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func goList(t *testing.T, format string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func pkgName(p string) string {
	if p == "" {
		return "main"
	}
	return p
}

// ruleFor finds the rule of pkg: its own, else its nearest parent's.
func ruleFor[V any](rules map[string]V, pkg string) (V, bool) {
	for p := pkg; ; p = path.Dir(p) {
		if r, ok := rules[p]; ok {
			return r, true
		}
		if p == "." || p == "/" || p == "" {
			var zero V
			return zero, false
		}
	}
}

func isAllowed(allowed []string, target string) bool {
	for _, a := range allowed {
		tree, ok := strings.CutSuffix(a, "/...")
		if target == a || ok && (target == tree || strings.HasPrefix(target, tree+"/")) {
			return true
		}
	}
	return false
}
