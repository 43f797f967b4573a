package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/handson-dev/rotation-operator/internal/operatorimage"
)

// standIn replaces the operator image build (tested in
// internal/operatorimage) with a small random image.
func standIn(t *testing.T) (v1.Image, *operatorimage.Options) {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got operatorimage.Options
	old := buildImage
	buildImage = func(_ context.Context, o operatorimage.Options) (v1.Image, error) {
		got = o
		return img, nil
	}
	t.Cleanup(func() { buildImage = old })
	return img, &got
}

func TestArchive(t *testing.T) {
	img, opts := standIn(t)
	out := filepath.Join(t.TempDir(), "sub", "image.tar")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"archive", out, "--ref", "rotation.local/rotation-operator:test", "--terraform", "/opt/tf"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if opts.Terraform != "/opt/tf" {
		t.Errorf("--terraform reached Build as %q", opts.Terraform)
	}
	tag, _ := name.NewTag("rotation.local/rotation-operator:test")
	loaded, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := loaded.Digest(); got != want {
		t.Errorf("archived image %s, built %s", got, want)
	}
	if !strings.Contains(stdout.String(), want.String()) {
		t.Errorf("stdout %q lacks the digest", stdout.String())
	}
}

func TestPush(t *testing.T) {
	img, _ := standIn(t)
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/rotation-operator:v1"
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"push", ref, "--insecure"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	pushed, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, _ := pushed.Digest(); got != want {
		t.Errorf("pushed %s, built %s", got, want)
	}
}

func TestUsage(t *testing.T) {
	standIn(t)
	for _, args := range [][]string{nil, {"archive"}, {"push"}, {"frobnicate", "x"}, {"archive", "x.tar", "--ref", "Not A Ref"}, {"push", "Not A Ref"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
