package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kubectl and crane go into the CI/CD deploy step image, which has no
// libc: both build static. kubectl is optional, from its own wrapper
// module on the published k8s.io/kubectl, and reports the Kubernetes
// release of that staging module.
func TestDeployImageToolsAreStatic(t *testing.T) {
	if slices.Contains(AllTools, Kubectl) || !slices.Contains(OptionalTools, Kubectl) {
		t.Errorf("want %s among OptionalTools %v only, AllTools %v", Kubectl, OptionalTools, AllTools)
	}
	for _, name := range []string{Kubectl, Crane} {
		if !slices.Contains(tools[name].env, "CGO_ENABLED=0") {
			t.Errorf("%s builds with env %q: want CGO_ENABLED=0", name, tools[name].env)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", Kubectl, "go.mod"))
	must(t, err)
	v := requiredVersion(b, tools[Kubectl].versionModule)
	if !strings.HasPrefix(v, "v0.") {
		t.Fatalf("hack/tools/kubectl requires k8s.io/kubectl %q", v)
	}
	flags := kubectlVersionLDFlags(v)
	if want := "gitVersion=v1." + strings.TrimPrefix(v, "v0."); !strings.Contains(flags, want) || !strings.HasPrefix(flags, "-s -w ") {
		t.Errorf("ldflags %q: want stripped and %s", flags, want)
	}
}
