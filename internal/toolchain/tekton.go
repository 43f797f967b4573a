package toolchain

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Tekton is Tekton Pipelines: the controller, its webhook and the images its
// TaskRun pods run (Paths.Tekton), and its release manifests
// (Paths.TektonRelease). Only built when asked for by name.
const Tekton = "tekton"

// tektonReleaseDir holds, inside the tool dir, the release manifests copied
// from the module's config/ folder.
const tektonReleaseDir = "release"

// tektonBinaries are the programs of a Tekton Pipelines install that run
// TaskRuns: the controller and webhook Deployments, and the images the
// controller puts into every TaskRun pod (its -entrypoint-image,
// -nop-image, -sidecarlogresults-image and -workingdirinit-image).
// The events controller and the remote resolvers are left out: labs use
// neither.
var tektonBinaries = []string{"controller", "entrypoint", "nop", "sidecarlogresults", "webhook", "workingdirinit"}

// tektonReleaseSources are the release manifests (inside the module) that
// install those components: the namespace, RBAC, CRDs, webhooks, config
// maps and the two Deployments. Not the events Deployment (events.yaml),
// the webhook's HorizontalPodAutoscaler or the resolvers/ folder.
var tektonReleaseSources = []string{
	"config/100-namespace/100-namespace.yaml",
	"config/200-clusterrole.yaml",
	"config/200-role.yaml",
	"config/200-serviceaccount.yaml",
	"config/201-clusterrolebinding.yaml",
	"config/201-rolebinding.yaml",
	"config/300-crds/300-customrun.yaml",
	"config/300-crds/300-pipeline.yaml",
	"config/300-crds/300-pipelinerun.yaml",
	"config/300-crds/300-resolutionrequest.yaml",
	"config/300-crds/300-stepaction.yaml",
	"config/300-crds/300-task.yaml",
	"config/300-crds/300-taskrun.yaml",
	"config/300-crds/300-verificationpolicy.yaml",
	"config/500-webhooks.yaml",
	"config/clusterrole-aggregate-edit.yaml",
	"config/clusterrole-aggregate-view.yaml",
	"config/config-defaults.yaml",
	"config/config-events.yaml",
	"config/config-feature-flags.yaml",
	"config/config-info.yaml",
	"config/config-leader-election-controller.yaml",
	"config/config-leader-election-events.yaml",
	"config/config-leader-election-webhook.yaml",
	"config/config-logging.yaml",
	"config/config-observability.yaml",
	"config/config-registry-cert.yaml",
	"config/config-spire.yaml",
	"config/config-tracing.yaml",
	"config/config-wait-exponential-backoff.yaml",
	"config/controller.yaml",
	"config/webhook.yaml",
}

// tekton builds Tekton Pipelines' programs static, as container images
// need them (internal/tekton puts them into images).
var tekton = tool{
	name:          Tekton,
	versionModule: "github.com/tektoncd/pipeline",
	packages:      tektonPackages(),
	binaries:      tektonBinaries,
	flags:         []string{"-trimpath"},
	ldflags:       func(string) string { return "-s -w" },
	env:           []string{"CGO_ENABLED=0"},
	coldEstimate:  "~6 min cold",
	postBuild:     copyTektonRelease,
	copied:        tektonReleaseSources,
	fill: func(p *Paths, dir string) error {
		release := filepath.Join(dir, tektonReleaseDir)
		files, err := yamlFiles(release)
		if err != nil {
			return err
		}
		if len(files) != len(tektonReleaseSources) {
			return fmt.Errorf("tekton release in %s: %d files, want %d", release, len(files), len(tektonReleaseSources))
		}
		p.Tekton, p.TektonRelease = dir, files
		return nil
	},
}

func tektonPackages() []string {
	out := make([]string, len(tektonBinaries))
	for i, b := range tektonBinaries {
		out[i] = "github.com/tektoncd/pipeline/cmd/" + b
	}
	return out
}

// copyTektonRelease copies the release manifests out of the module cache,
// in apply order: their file names sort the way Tekton's release applies
// them (namespace, RBAC, CRDs, webhooks, config, Deployments), and the
// folders are flattened into that order.
func copyTektonRelease(ctx context.Context, wrapperDir, outDir string) error {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/tektoncd/pipeline")
	cmd.Dir = wrapperDir
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("locating the tekton module source: %w", err)
	}
	modDir := strings.TrimSpace(string(out))
	files := make([]string, len(tektonReleaseSources))
	for i, src := range tektonReleaseSources {
		files[i] = filepath.Join(modDir, filepath.FromSlash(src))
	}
	return copyFiles(files, filepath.Join(outDir, tektonReleaseDir))
}
