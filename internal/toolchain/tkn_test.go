package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tkn is optional, from its own wrapper module on github.com/tektoncd/cli
// with the cli's one replace (the proxy has no cr-20160607 version the cli
// builds with), reports its module version, and has no `version --check`
// (which goes to GitHub).
func TestTknIsOptionalAndOffline(t *testing.T) {
	if slices.Contains(AllTools, Tkn) || !slices.Contains(OptionalTools, Tkn) {
		t.Errorf("want %s among OptionalTools %v only, AllTools %v", Tkn, OptionalTools, AllTools)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", Tkn, "go.mod"))
	must(t, err)
	if !strings.Contains(string(b), "replace github.com/alibabacloud-go/cr-20160607 => github.com/vdemeester/cr-20160607 ") {
		t.Errorf("hack/tools/tkn/go.mod lacks the cli's replace of cr-20160607:\n%s", b)
	}
	v := requiredVersion(b, tools[Tkn].versionModule)
	if !strings.HasPrefix(v, "v0.") {
		t.Fatalf("hack/tools/tkn requires %s %q", tools[Tkn].versionModule, v)
	}
	flags := tknVersionLDFlags(v)
	for _, want := range []string{"version.clientVersion=" + v + " ", "version.skipCheckFlag=true"} {
		if !strings.Contains(flags, want) {
			t.Errorf("ldflags %q: want %s", flags, want)
		}
	}
	var p Paths
	must(t, tools[Tkn].fill(&p, "/cache/tkn"))
	if p.Tkn != "/cache/tkn/tkn" {
		t.Errorf("Paths.Tkn = %q", p.Tkn)
	}
}
