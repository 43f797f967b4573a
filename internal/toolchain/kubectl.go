package toolchain

import (
	"path/filepath"
	"strings"
)

// Kubectl is kubectl for the CI/CD deploy step image
// (internal/tekton.DeployImage): static, as the image has no libc. The
// learner's own kubectl is the machine's. Only built when asked for by name.
const Kubectl = "kubectl"

var kubectl = tool{
	name:          Kubectl,
	versionModule: "k8s.io/kubectl",
	packages:      []string{"."},
	binaries:      []string{"kubectl"},
	flags:         []string{"-trimpath"},
	ldflags:       kubectlVersionLDFlags,
	env:           []string{"CGO_ENABLED=0"},
	coldEstimate:  "~3 min cold",
	fill: func(p *Paths, dir string) error {
		p.Kubectl = filepath.Join(dir, "kubectl")
		return nil
	},
}

// kubectlVersionLDFlags stamps the Kubernetes release the staging module
// k8s.io/kubectl v0.X.Y belongs to (v1.X.Y), as kubectl version reports
// it, and strips the binary (~35% smaller).
func kubectlVersionLDFlags(version string) string {
	return "-s -w " + kubeVersionLDFlags("v1."+strings.TrimPrefix(version, "v0."))
}
