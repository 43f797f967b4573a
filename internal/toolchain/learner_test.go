package toolchain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CLIs on PATH are used as they are; a missing helm, crane or tkn is
// built from its wrapper (here: found in a pre-populated cache), a
// missing terraform and tofu as OpenTofu.
func TestEnsureLearnerCLIs(t *testing.T) {
	saved := lookPath
	t.Cleanup(func() { lookPath = saved })
	lookPath = func(name string) (string, error) { return "/usr/bin/" + name, nil }
	c, steps, err := EnsureLearnerCLIs(context.Background(), nil)
	must(t, err)
	if c.Helm != "/usr/bin/helm" || c.Crane != "/usr/bin/crane" || c.Terraform != "/usr/bin/terraform" || c.Tkn != "/usr/bin/tkn" || len(steps) != 4 {
		t.Fatalf("all on PATH: %+v %+v", c, steps)
	}

	// No helm, no terraform, tofu instead; crane and tkn present.
	lookPath = func(name string) (string, error) {
		if name == "crane" || name == "tofu" || name == "tkn" {
			return "/usr/bin/" + name, nil
		}
		return "", errors.New("not found")
	}
	repo := t.TempDir()
	w := filepath.Join(repo, "hack", "tools", Helm)
	must(t, os.MkdirAll(w, 0o755))
	must(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+ModulePath+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.mod"), []byte("module x\n\nrequire helm.sh/helm/v4 v4.3.1\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w, "go.sum"), nil, 0o644))
	cache := t.TempDir()
	t.Setenv("ROTATION_REPO_ROOT", repo)
	t.Setenv("ROTATION_CACHE_DIR", cache)
	dir, _, err := toolDir(cache, w, tools[Helm])
	must(t, err)
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "helm"), []byte("#!/bin/sh\n"), 0o755))
	c, _, err = EnsureLearnerCLIs(context.Background(), nil)
	must(t, err)
	if c.Helm != filepath.Join(dir, "helm") || c.Crane != "/usr/bin/crane" || c.Terraform != "/usr/bin/tofu" || c.Tkn != "/usr/bin/tkn" {
		t.Fatalf("helm from the cache, crane, tofu and tkn from PATH: %+v", c)
	}

	// Neither terraform nor tofu: OpenTofu is built (here: its wrapper
	// is missing from the fake repo, so the build must fail, not be
	// skipped).
	lookPath = func(name string) (string, error) {
		if name == "helm" || name == "crane" || name == "tkn" {
			return "/usr/bin/" + name, nil
		}
		return "", errors.New("not found")
	}
	if _, _, err := EnsureLearnerCLIs(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "opentofu") {
		t.Fatalf("no terraform, no tofu, no OpenTofu wrapper: err = %v", err)
	}
}
