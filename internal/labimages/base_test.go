package labimages

import (
	"archive/tar"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestStaticBase: the offline base has the base files only (no program),
// runs as nonroot, and the same build gives the same digest.
func TestStaticBase(t *testing.T) {
	a, err := StaticBase("amd64")
	if err != nil {
		t.Fatal(err)
	}
	b, err := StaticBase("amd64")
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest || a.Ref != StaticNonroot {
		t.Fatalf("not reproducible or misnamed: %s %s %s", a.Digest, b.Digest, a.Ref)
	}
	cf, err := a.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 0 || len(cf.Config.Cmd) != 0 || cf.Architecture != "amd64" {
		t.Fatalf("config: user %q entrypoint %v cmd %v arch %s", cf.Config.User, cf.Config.Entrypoint, cf.Config.Cmd, cf.Architecture)
	}
	var got []string
	tr := tar.NewReader(mutate.Extract(a.Image))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimSuffix(h.Name, "/"))
	}
	var want []string
	for _, f := range BaseFiles() {
		want = append(want, strings.TrimSuffix(f.Name, "/"))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want exactly the base files %v", got, want)
	}
}
