package main

import (
	"context"
	"strings"
	"testing"
)

// TestPinned: runner Jobs run the operator's image by the digest the
// kubelet pulled, whatever form the runtime reports it in.
func TestPinned(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, c := range []struct{ image, imageID, want string }{
		{"ghcr.io/handson-dev/rotation-operator:v1", "ghcr.io/handson-dev/rotation-operator@" + d, "ghcr.io/handson-dev/rotation-operator@" + d},
		{"ghcr.io/handson-dev/rotation-operator:v1", "docker-pullable://ghcr.io/handson-dev/rotation-operator@" + d, "ghcr.io/handson-dev/rotation-operator@" + d},
		{"localhost:5000/op", "localhost:5000/op@" + d, "localhost:5000/op@" + d},
		// No digest reported (yet): the image as written.
		{"ghcr.io/handson-dev/rotation-operator:v1", "", "ghcr.io/handson-dev/rotation-operator:v1"},
		{"ghcr.io/handson-dev/rotation-operator:v1", "sha256:" + strings.Repeat("ab", 32), "ghcr.io/handson-dev/rotation-operator:v1"},
	} {
		if got := pinned(c.image, c.imageID); got != c.want {
			t.Errorf("pinned(%q, %q) = %q, want %q", c.image, c.imageID, got, c.want)
		}
	}
}

// TestTerraformExecutorFlag: a wrong --terraform-executor, or job mode
// without a cluster, is a clear error at start-up.
func TestTerraformExecutorFlag(t *testing.T) {
	for _, f := range []terraformFlags{{executor: "kubernetes"}, {executor: ""}, {executor: "job"}} {
		if _, err := f.collector(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "--terraform-executor") {
			t.Errorf("--terraform-executor=%q: %v, want an error naming the flag", f.executor, err)
		}
	}
}
