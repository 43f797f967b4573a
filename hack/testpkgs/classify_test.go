package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestEveryTestPackageInExactlyOneCategory: the three make targets together
// run every package that has tests, each once. The packages with tests are
// listed here independently of classifyModule, from their test files.
func TestEveryTestPackageInExactlyOneCategory(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}", module+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	byCategory, err := classifyModule()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]category{}
	for _, c := range categories {
		for _, pkg := range byCategory[c] {
			if prev, dup := seen[pkg]; dup {
				t.Errorf("%s is in both %s and %s", pkg, prev, c)
			}
			seen[pkg] = c
		}
	}
	for c := range byCategory {
		if !slices.Contains(categories, c) {
			t.Errorf("category %q is run by no make target", c)
		}
	}
	withTests := strings.Fields(string(out))
	for _, pkg := range withTests {
		if _, ok := seen[pkg]; !ok {
			t.Errorf("%s has tests but is in no category", pkg)
		}
	}
	for pkg := range seen {
		if !slices.Contains(withTests, pkg) {
			t.Errorf("%s is in category %s but has no tests", pkg, seen[pkg])
		}
	}
}

// TestKnownPackages pins one package per category, so that detection cannot
// quietly stop seeing a control plane (say, localcluster renamed) and move
// slow tests into make test-unit.
func TestKnownPackages(t *testing.T) {
	byCategory, err := classifyModule()
	if err != nil {
		t.Fatal(err)
	}
	for pkg, want := range map[string]category{
		"internal/grading":      unit,
		"internal/localcluster": integration,
		"controllers":           integration,
		"test/faults":           e2e,
	} {
		if !slices.Contains(byCategory[want], module+"/"+pkg) {
			t.Errorf("%s is not in %s: %v", pkg, want, byCategory)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		pkg  string
		deps []string
		want category
	}{
		{module + "/internal/lab", []string{"fmt"}, unit},
		{module + "/controllers", []string{"fmt", module + "/internal/localcluster"}, integration},
		{module + "/internal/x", []string{"sigs.k8s.io/controller-runtime/pkg/envtest"}, integration},
		{module + "/test/e2e", []string{module + "/internal/localcluster"}, e2e},
		{module + "/test/rbacaudit", nil, e2e},
	} {
		if got := classify(tc.pkg, tc.deps); got != tc.want {
			t.Errorf("classify(%s) = %s, want %s", tc.pkg, got, tc.want)
		}
	}
}
