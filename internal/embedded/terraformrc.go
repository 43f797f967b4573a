package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// Provider hosts the learner's CLI may resolve hashicorp/kubernetes to:
// terraform's default registry, and OpenTofu's (tofu, built where the
// machine has no terraform, reads "hashicorp/kubernetes" as
// registry.opentofu.org/hashicorp/kubernetes).
var providerHosts = []string{"registry.terraform.io", "registry.opentofu.org"}

// terraformCLIConfig is a Terraform CLI configuration that installs the
// kubernetes provider from a local mirror only (no registry, so it works
// offline), as the grader does: the learner's `terraform init` selects the
// same provider build the grading runs with.
func terraformCLIConfig(mirror string) string {
	return fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %s
    include = ["%s/hashicorp/kubernetes", "%s/hashicorp/kubernetes"]
  }
}
`, strconv.Quote(mirror), providerHosts[0], providerHosts[1])
}

// writeTerraformCLIConfig writes the learner's CLI config to path, for
// TF_CLI_CONFIG_FILE, with a mirror dir next to it that serves the
// provider mirror (laid out for registry.terraform.io) under both hosts.
// The package dir (HOST/hashicorp/kubernetes/VERSION/OS_ARCH) is a symlink
// into the mirror: terraform and tofu follow symlinks there, not higher up.
// It returns that mirror dir.
func writeTerraformCLIConfig(path, mirror string) (string, error) {
	dir := path + ".mirror"
	pkg := filepath.Dir(filepath.FromSlash(toolchain.TerraformProviderMirrorPath(runtime.GOOS, runtime.GOARCH)))
	_, rel, _ := strings.Cut(pkg, string(filepath.Separator)) // without the host
	for _, host := range providerHosts {
		link := filepath.Join(dir, host, rel)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil { //nolint:gosec // G301: the learner's terraform reads the mirror; nothing secret
			return "", err
		}
		if err := os.Symlink(filepath.Join(mirror, pkg), link); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(path, []byte(terraformCLIConfig(dir)), 0o644) //nolint:gosec // G306: a CLI config the learner reads; nothing secret
}
