package toolchain

import (
	"slices"
	"strings"
	"testing"
)

// golangci-lint is built only for make lint: make tools and the local
// cluster must not pay for it.
func TestGolangciLintIsOptional(t *testing.T) {
	if slices.Contains(AllTools, GolangciLint) || !slices.Contains(OptionalTools, GolangciLint) {
		t.Errorf("want %s among OptionalTools %v only, AllTools %v", GolangciLint, OptionalTools, AllTools)
	}
}

// Without the stamp, golangci-lint built from a wrapper module reports the
// wrapper's "(devel)" as its version.
func TestGolangciLintVersionLDFlags(t *testing.T) {
	got := golangciLintVersionLDFlags("v2.15.0")
	for _, want := range []string{"-X main.version=2.15.0", "-X main.date="} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags %q lack %q", got, want)
		}
	}
}
