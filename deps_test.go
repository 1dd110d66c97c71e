package main

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/hspd/hsp"

// allowedImports lists, for each package of ours (a rule covers the
// subpackages that have none of their own), the packages of ours it may
// import directly; "x/..." allows x and everything under it. The layering
// is DEVELOPERS.md's: commands → rpc (and daemon, to run `hsp daemon`);
// daemon → rpc, swarm, core, core/store; rpc → rpc/schema, core;
// swarm → core; core/store → core; core → nothing of ours.
var allowedImports = map[string][]string{
	"":              {"commands"},
	"commands":      {"rpc", "daemon"},
	"daemon":        {"rpc", "swarm", "core", "core/store"},
	"rpc":           {"rpc/schema", "core", "core/coretest"},
	"rpc/schema":    {},
	"swarm":         {"swarm/...", "core"},
	"core/store":    {"core", "core/coretest"},
	"core/coretest": {"core"},
	"core":          {},
	"bench":         {"rpc", "core", "core/store"},
}

// allowedTestImports adds what a package's tests may import besides.
var allowedTestImports = map[string][]string{
	"": {"rpc"}, // end-to-end tests of the binary talk to its daemon
}

// forbiddenDeps lists modules a package must not reach even indirectly.
var forbiddenDeps = map[string][]string{
	"core":       {"github.com/cockroachdb/pebble", "capnproto.org/go/capnp", "github.com/urfave/cli", "github.com/flynn/noise"},
	"core/store": {"capnproto.org/go/capnp", "github.com/urfave/cli"},
	"swarm":      {"github.com/cockroachdb/pebble", "capnproto.org/go/capnp", "github.com/urfave/cli"},
	"rpc":        {"github.com/cockroachdb/pebble", "github.com/urfave/cli"},
}

// TestImportGraph fails when a package imports across the layering.
func TestImportGraph(t *testing.T) {
	pkgs := goList(t, "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .TestImports \" \"}}")
	checked := 0
	for _, line := range pkgs {
		parts := strings.SplitN(line, "|", 3)
		pkg := rel(parts[0])
		rule, ok := ruleFor(allowedImports, pkg)
		if !ok {
			t.Errorf("package %q has no rule in allowedImports", pkg)
			continue
		}
		check := func(imports string, allowed []string) {
			for _, imp := range strings.Fields(imports) {
				if target := rel(imp); strings.HasPrefix(imp, module) && !isAllowed(allowed, target) {
					t.Errorf("%s imports %s, which the layering forbids", pkgName(pkg), pkgName(target))
				}
			}
		}
		check(parts[1], rule)
		check(parts[2], append(append([]string{}, rule...), allowedTestImports[pkg]...))
		checked++
	}
	if checked < 3 {
		t.Fatalf("checked only %d packages", checked)
	}
}

// TestForbiddenDeps fails when a package reaches a module it must not,
// directly or through others.
func TestForbiddenDeps(t *testing.T) {
	for _, line := range goList(t, "{{.ImportPath}}|{{join .Deps \" \"}}") {
		parts := strings.SplitN(line, "|", 2)
		pkg := rel(parts[0])
		banned, ok := ruleFor(forbiddenDeps, pkg)
		if !ok {
			continue
		}
		for _, dep := range strings.Fields(parts[1]) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s depends on %s", pkgName(pkg), dep)
				}
			}
		}
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
