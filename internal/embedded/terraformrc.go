package embedded

import (
	"fmt"
	"os"
	"strconv"
)

// terraformCLIConfig is a Terraform CLI configuration that installs the
// kubernetes provider from the local mirror only (no registry, so it works
// offline), as the grader does: the learner's `terraform init` selects the
// same provider build the grading runs with.
func terraformCLIConfig(mirror string) string {
	return fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %s
    include = ["registry.terraform.io/hashicorp/kubernetes"]
  }
}
`, strconv.Quote(mirror))
}

// writeTerraformCLIConfig writes the learner's CLI config to path, for
// TF_CLI_CONFIG_FILE.
func writeTerraformCLIConfig(path, mirror string) error {
	return os.WriteFile(path, []byte(terraformCLIConfig(mirror)), 0o644)
}
