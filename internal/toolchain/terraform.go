package toolchain

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
)

// TerraformProviderVersion is the version under which the kubernetes
// provider is published in the mirror, and so the version `terraform init`
// selects and writes into .terraform.lock.hcl. The wrapper module builds
// commit 3a33fb6cc605 of hashicorp/terraform-provider-kubernetes (Go
// pseudo-version v1.13.4-0.20260821094251-3a33fb6cc605: the module has no /v3
// path, so Go cannot see its tags), which is the main branch after the 3.2.1
// release. Its CHANGELOG's newest entry is 3.2.1, and a release version
// (not a pre-release like 3.2.2-dev) is what learners' ordinary constraints
// ("~> 3.2", ">= 2.0") accept. Bump both together.
const TerraformProviderVersion = "3.2.1"

// providerMirrorDir is the mirror's directory inside the tool's cache dir.
const providerMirrorDir = "mirror"

// providerMirrorPath is where the provider binary sits inside the mirror,
// in Terraform's unpacked filesystem_mirror layout
// HOSTNAME/NAMESPACE/TYPE/VERSION/TARGET/terraform-provider-TYPE_vVERSION.
func providerMirrorPath() string {
	return filepath.FromSlash(TerraformProviderMirrorPath(runtime.GOOS, runtime.GOARCH))
}

// TerraformProviderMirrorPath is the provider binary's path inside a
// filesystem mirror for goos/goarch, slash-separated:
// registry.terraform.io/hashicorp/kubernetes/VERSION/GOOS_GOARCH/terraform-provider-kubernetes_vVERSION.
func TerraformProviderMirrorPath(goos, goarch string) string {
	return "registry.terraform.io/hashicorp/kubernetes/" + TerraformProviderVersion + "/" +
		goos + "_" + goarch + "/terraform-provider-kubernetes_v" + TerraformProviderVersion
}

// layOutProviderMirror hard-links the built provider into the mirror layout
// (a copy where links are not possible), next to the plain binary that
// complete() looks for.
func layOutProviderMirror(_ context.Context, _, outDir string) error {
	src := filepath.Join(outDir, "terraform-provider-kubernetes")
	dst := filepath.Join(outDir, providerMirrorDir, providerMirrorPath())
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// MkdirAll honours the umask; the mirror must be readable by the
	// runner, which may run as another user (a user namespace's root maps to
	// the operator's uid, but a Job image's user may differ).
	for d := filepath.Dir(dst); d != outDir; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755) //nolint:gosec // G703: dst is the tool's own build dir
}
