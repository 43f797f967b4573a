package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The step image's userland is optional, built static from the wrapper
// pinning u-root v0.15.0 (v0.14.0's chmod refuses +x), with the wrapper's
// own sh first and a tool directive for every command.
func TestURootWrapperModule(t *testing.T) {
	if slices.Contains(AllTools, URoot) || !slices.Contains(OptionalTools, URoot) {
		t.Errorf("want %s among OptionalTools %v only, AllTools %v", URoot, OptionalTools, AllTools)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", URoot, "go.mod"))
	must(t, err)
	tl := tools[URoot]
	if tl.packages[0] != "." || tl.binaries[0] != "sh" || !strings.Contains(string(b), "\nmodule github.com/handson-dev/rotation-operator/hack/tools/uroot/sh\n") {
		t.Errorf("the wrapper's main must build as sh: packages %v, binaries %v", tl.packages[:1], tl.binaries[:1])
	}
	for _, pkg := range tl.packages[1:] {
		if !strings.Contains(string(b), "\t"+pkg+"\n") {
			t.Errorf("hack/tools/uroot/go.mod lacks the tool directive for %s", pkg)
		}
	}
	if len(tl.packages) != len(tl.binaries) {
		t.Errorf("%d packages for %d binaries", len(tl.packages), len(tl.binaries))
	}
	if v := requiredVersion(b, tl.versionModule); v != "v0.15.0" {
		t.Errorf("hack/tools/uroot requires u-root %q, want v0.15.0", v)
	}
	if !slices.Contains(tl.env, "CGO_ENABLED=0") || !slices.Contains(buildArgs(tl, "v0.15.0", "OUT"), "-trimpath") {
		t.Errorf("uroot builds with env %q, args %q: want static and -trimpath", tl.env, buildArgs(tl, "v0.15.0", "OUT"))
	}
}
