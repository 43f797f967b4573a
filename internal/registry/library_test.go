package registry

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestLibraryIsReadOnlyToEveryLab: an image the operator puts in the
// library is pulled by any lab with its own credentials, by digest too;
// no lab can push to, overwrite or delete it; anonymous pulls are refused.
func TestLibraryIsReadOnlyToEveryLab(t *testing.T) {
	for _, prefix := range []string{"", "labs"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			s := startServer(t, prefix)
			cfg := s.Config()
			base := randomImage(t)
			if err := s.PutLibrary(context.Background(), "static:nonroot", base); err != nil {
				t.Fatal(err)
			}
			want, _ := base.Digest()
			tag := cfg.LibraryRepository("static") + ":nonroot"
			for _, lab := range []string{"lab-alice", "lab-bob"} {
				img, err := remote.Image(ref(t, tag), labAuth(s, lab), noRetry)
				if err != nil {
					t.Fatalf("%s pulling the library base: %v", lab, err)
				}
				if got, _ := img.Digest(); got != want {
					t.Fatalf("%s pulled %s, want %s", lab, got, want)
				}
				if _, err := remote.Image(ref(t, cfg.LibraryRepository("static")+"@"+want.String()), labAuth(s, lab), noRetry); err != nil {
					t.Fatalf("%s pulling by digest: %v", lab, err)
				}
			}
			// Writes: a new tag, overwriting the base, deleting it.
			err := remote.Write(ref(t, cfg.LibraryRepository("static")+":evil"), randomImage(t), labAuth(s, "lab-alice"), noRetry)
			if statusOf(err) != http.StatusForbidden {
				t.Fatalf("a lab pushed to the library: %v", err)
			}
			err = remote.Write(ref(t, tag), randomImage(t), labAuth(s, "lab-alice"), noRetry)
			if statusOf(err) != http.StatusForbidden {
				t.Fatalf("a lab overwrote the library base: %v", err)
			}
			err = remote.Delete(ref(t, cfg.LibraryRepository("static")+"@"+want.String()), labAuth(s, "lab-alice"), noRetry)
			if statusOf(err) != http.StatusForbidden {
				t.Fatalf("a lab deleted the library base: %v", err)
			}
			if img, err := remote.Image(ref(t, tag), labAuth(s, "lab-bob"), noRetry); err != nil {
				t.Fatal(err)
			} else if got, _ := img.Digest(); got != want {
				t.Fatalf("the library base changed to %s", got)
			}
			if _, err := remote.Image(ref(t, tag), remote.WithAuth(authn.Anonymous), noRetry); statusOf(err) != http.StatusUnauthorized {
				t.Fatalf("anonymous pull of the library: %v", err)
			}
			// A lab image built FROM the base pushes to the lab (the base's
			// layer is uploaded, not mounted from the library).
			if err := remote.Write(ref(t, cfg.Repository("lab-alice", "app")+":v1"), base, labAuth(s, "lab-alice"), noRetry); err != nil {
				t.Fatalf("pushing an image on the base to the lab: %v", err)
			}
		})
	}
}
