package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/handson-dev/rotation-operator/internal/labimages"
)

func TestArchive(t *testing.T) {
	t.Setenv("ROTATION_CACHE_DIR", t.TempDir())
	out := filepath.Join(t.TempDir(), "bin", "lab-images.tar")
	var stdout, stderr bytes.Buffer
	// Flags after the arguments, as in the README.
	if err := run(context.Background(), []string{"archive", out, "--arch", "amd64"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	for _, ref := range labimages.Refs() {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ref) + ` +sha256:[0-9a-f]{64}$`).MatchString(stdout.String()) {
			t.Errorf("stdout has no line for %s:\n%s", ref, stdout.String())
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() < 1<<20 {
		t.Errorf("archive %s: %v", out, err)
	}
	if !strings.Contains(stderr.String(), "ctr -n k8s.io images import "+out) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"archive"}, {"publish"}, {"list", "x"}, {"frob", "x"}, {"--nope", "list"}} {
		err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"publish", "myteam/rotation"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "registry host") {
		t.Errorf("publish to a Docker Hub-looking prefix: %v", err)
	}
}
