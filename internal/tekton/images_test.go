package tekton

import (
	"os"
	"path/filepath"
	"testing"
)

// Each component image runs its binary from /ko-app as the nonroot user
// (the controller names /ko-app/<name> in TaskRun pods), and a second call
// serves the same image from the cache.
func TestImagesLayOutKoApp(t *testing.T) {
	bins, cache := t.TempDir(), t.TempDir()
	for _, c := range Components {
		if err := os.WriteFile(filepath.Join(bins, c), []byte("binary of "+c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := Images(bins, cache, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != len(Components) {
		t.Fatalf("%d images, want %d", len(imgs), len(Components))
	}
	for i, im := range imgs {
		cf, err := im.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if want := "/ko-app/" + Components[i]; len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != want {
			t.Errorf("%s entrypoint %v, want %s", im.Ref, cf.Config.Entrypoint, want)
		}
		if cf.Config.User != "65532:65532" || cf.Architecture != "amd64" {
			t.Errorf("%s user %q arch %q", im.Ref, cf.Config.User, cf.Architecture)
		}
	}
	again, err := Images(bins, cache, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i].Digest != imgs[i].Digest {
			t.Errorf("%s: digest %s then %s", imgs[i].Ref, imgs[i].Digest, again[i].Digest)
		}
	}
}
