package labimages

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPublish pushes the images to an in-process OCI registry and pulls
// each back by digest.
func TestPublish(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	imgs := images(t)
	// Publish builds with the default Options: from the cache the tests
	// filled (TestMain), so the same images.
	pushed, err := Publish(ctx, host+"/rotation")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pushed {
		want := host + "/rotation/" + imgs[i].Name + ":" + imgs[i].Tag
		if p.Ref != want || p.Digest != imgs[i].Digest {
			t.Errorf("pushed %s %s, want %s %s", p.Ref, p.Digest, want, imgs[i].Digest)
		}
		tag, err := name.NewTag(p.Ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(tag, remote.WithContext(ctx))
		if err != nil || desc.Digest != p.Digest {
			t.Errorf("%s resolves to %v (%v), want %s", p.Ref, desc, err, p.Digest)
		}
		img, err := remote.Image(tag.Digest(p.Digest.String()), remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("pulling %s@%s: %v", tag.Repository, p.Digest, err)
		}
		consistent(t, Image{Ref: p.Ref, Digest: p.Digest, Image: img})
		cf, err := img.ConfigFile()
		if err != nil || cf.Config.User != "65532:65532" || cf.Config.Entrypoint[0] != "/"+p.Name {
			t.Errorf("%s pulled back: config %+v (%v)", p.Ref, cf, err)
		}
	}

	// Published again, from Build's result: nothing changes.
	prefix, err := ParsePrefix(host + "/rotation")
	if err != nil {
		t.Fatal(err)
	}
	again, err := PublishImages(ctx, imgs, prefix)
	if err != nil || again[1].Digest != imgs[1].Digest {
		t.Errorf("publishing again: %v", err)
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"registry.example.com/rotation":       "registry.example.com/rotation/web:1.0",
		"registry.example.com/team/rotation/": "registry.example.com/team/rotation/web:1.0",
		"localhost:5000":                      "localhost:5000/web:1.0",
		"10.0.0.5:5000/labs":                  "10.0.0.5:5000/labs/web:1.0",
		"localhost/x":                         "localhost/x/web:1.0",
		"registry.example.com/a//b":           "registry.example.com/a/b/web:1.0",
	} {
		p, err := ParsePrefix(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		ref, err := PublishedRef(p, Image{Name: "web", Tag: "1.0"})
		if err != nil || ref.String() != want {
			t.Errorf("%s: web 1.0 goes to %s (%v), want %s", in, ref, err, want)
		}
	}
	for in, wantErr := range map[string]string{
		"rotation":                         "start with a registry host",
		"myteam/rotation":                  "start with a registry host",
		"https://registry.example.com/r":   "without a scheme",
		"registry.example.com/Upper/Case":  "repository",
		"":                                 "start with a registry host",
		"registry.example.com/with space/": "repository",
	} {
		if _, err := ParsePrefix(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParsePrefix(%q) = %v, want an error with %q", in, err, wantErr)
		}
	}
	// Plain HTTP is the registry's, carried to every image.
	p, err := ParsePrefix("registry.lan:5000/rotation", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := PublishedRef(p, Image{Name: "web", Tag: "1.1"})
	if ref.Scheme() != "http" {
		t.Errorf("scheme %s with name.Insecure", ref.Scheme())
	}
}
