package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/tekton"
)

// fakeBuild is a bundle of two small images (a component and the step
// image) and a release whose Deployment names both, as Render leaves it.
func fakeBuild(t *testing.T) build {
	t.Helper()
	image := func(ref, nm, tag string) labimages.Image {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return labimages.Image{Ref: ref, Name: nm, Tag: tag, Digest: d, Image: img}
	}
	return func(context.Context, io.Writer) (tekton.Bundle, tekton.InstallTimings, error) {
		dep := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "tekton-pipelines-controller", "namespace": tekton.Namespace},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{
				"name": "controller", "image": tekton.Ref("controller"), "args": []any{"-shell-image", tekton.StepImage},
			}}}}},
		}}
		return tekton.Bundle{
			Images:     []labimages.Image{image(tekton.Ref("controller"), "tekton/controller", tekton.Version)},
			StepImages: []labimages.Image{image(tekton.StepImage, "cicd/go", "v1")},
			Release:    []*unstructured.Unstructured{dep},
		}, tekton.InstallTimings{}, nil
	}
}

// Without a registry: the release names the rotation.local images, which
// the archive holds for ctr import.
func TestReleaseAndArchive(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bin", "tekton-release.yaml")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{out}, &stdout, io.Discard, fakeBuild(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "image: "+tekton.Ref("controller")) || !strings.Contains(string(b), tekton.StepImage) {
		t.Errorf("release:\n%s", b)
	}
	archive := filepath.Join(dir, "bin", "tekton-images.tar")
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Errorf("archive %s: %v", archive, err)
	}
	if !strings.Contains(stdout.String(), "ctr -n k8s.io images import "+archive) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// With a registry: both images are pushed there, and the release names
// them there by digest, the -shell-image included.
func TestReleasePushedToARegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	out := filepath.Join(t.TempDir(), "release.yaml")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"--registry", u.Host + "/ci", "--insecure", out}, &stdout, io.Discard, fakeBuild(t)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	release := string(b)
	if strings.Contains(release, "rotation.local/") {
		t.Errorf("the release still names rotation.local images:\n%s", release)
	}
	for _, repo := range []string{"/ci/tekton/controller:" + tekton.Version + "@sha256:", "/ci/cicd/go:v1@sha256:"} {
		i := strings.Index(release, u.Host+repo)
		if i < 0 {
			t.Fatalf("the release does not name %s%s:\n%s", u.Host, repo, release)
		}
		ref := release[i : i+len(u.Host+repo)+64]
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := remote.Head(r); err != nil {
			t.Errorf("%s not in the registry: %v", ref, err)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a.yaml", "b.yaml"}, {"--nope", "a.yaml"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard, fakeBuild(t)); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"--registry", "myteam/rotation", "a.yaml"}, io.Discard, io.Discard, fakeBuild(t))
	if err == nil || !strings.Contains(err.Error(), "registry host") {
		t.Errorf("a Docker Hub-looking prefix: %v", err)
	}
}
