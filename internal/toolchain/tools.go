package toolchain

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Paths holds absolute paths of the binaries (and data files) Ensure made
// available. Fields of tools that were not asked for are left empty.
type Paths struct {
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	// Kubelet and KubeProxy run the real node (localcluster.NodeReal).
	Kubelet   string
	KubeProxy string
	Etcd      string
	Kwok      string
	// KwokStages are kwok Stage configs (node and pod lifecycles); pass each
	// to kwok with --config.
	KwokStages []string
	// KwokCRDs are CustomResourceDefinitions of kwok's own API that kwok
	// watches when started with --enable-crds (today only Logs, which maps a
	// pod's containers to log files kwok's kubelet API serves).
	KwokCRDs []string
	// Helm is the helm CLI (Helm v4). Only built when asked for by name: it
	// is not in AllTools, so Ensure with no names (make tools, the local
	// cluster) does not pay for it.
	Helm string
	// Crane is go-containerregistry's registry CLI, for learners to push
	// images to the lab registry. Only built when asked for by name.
	Crane string
	// Tofu is OpenTofu's CLI, the learner's Terraform CLI on machines with
	// neither terraform nor tofu. Only built when asked for by name.
	Tofu string
	// TerraformProviderMirror is a Terraform filesystem_mirror directory
	// (unpacked layout) holding only the kubernetes provider, at
	// TerraformProviderVersion:
	// <dir>/registry.terraform.io/hashicorp/kubernetes/<version>/<os>_<arch>/terraform-provider-kubernetes_v<version>.
	// Only built when asked for by name (TerraformProviderKubernetes).
	TerraformProviderMirror string
	// KubeRouter is kube-router, of which the real node runs only the
	// network policy controller (firewall mode), so NetworkPolicies are
	// enforced between real pods. Only built when asked for by name.
	KubeRouter string
	// GolangciLint is golangci-lint, for make lint. Only built when asked
	// for by name.
	GolangciLint string
	// Tekton is the dir of Tekton Pipelines' static binaries (controller,
	// webhook, entrypoint, nop, sidecarlogresults, workingdirinit), and
	// TektonRelease its release manifests in apply order, still with ko://
	// image paths (internal/tekton renders them). Only built when asked
	// for by name.
	Tekton        string
	TektonRelease []string
	// URoot is the dir of the step image's sh and u-root core commands
	// (see URoot). Only built when asked for by name.
	URoot string
	// Kubectl is a static kubectl for the CI/CD deploy step image (see
	// Kubectl). Only built when asked for by name.
	Kubectl string
	// Tkn is Tekton's CLI for the learner (see Tkn). Only built when
	// asked for by name.
	Tkn string
}

// Tool names accepted by Ensure.
const (
	Kubernetes = "kubernetes"
	Etcd       = "etcd"
	Kwok       = "kwok"
	Helm       = "helm"
	Crane      = "crane"
	OpenTofu   = "opentofu"
	// TerraformProviderKubernetes is the Terraform kubernetes provider, laid
	// out as a filesystem mirror (Paths.TerraformProviderMirror).
	TerraformProviderKubernetes = "terraform-provider-kubernetes"
	// KubeRouter enforces NetworkPolicy on the real node (Paths.KubeRouter).
	KubeRouter = "kube-router"
	// GolangciLint is the linter behind make lint (Paths.GolangciLint).
	GolangciLint = "golangci-lint"
)

// AllTools lists the control-plane tools; Ensure with no names builds them
// in this order.
var AllTools = []string{Kubernetes, Etcd, Kwok}

// OptionalTools are known to Ensure but built only when named explicitly.
var OptionalTools = []string{Helm, Crane, OpenTofu, TerraformProviderKubernetes, KubeRouter, GolangciLint, Tekton, URoot, Kubectl, Tkn}

// tool describes how one wrapper module under hack/tools/<name> is built.
type tool struct {
	name string
	// versionModule is the module whose required version names the cache dir,
	// purely for readability: the hash in the key is what invalidates.
	versionModule string
	// packages are the import paths handed to `go build`, relative to the
	// wrapper module.
	packages []string
	// binaries are the file names `go build -o dir/` produces for packages.
	binaries []string
	// ldflags, if set, returns -ldflags for the build given the module version.
	ldflags func(version string) string
	// flags are more go build flags (e.g. -trimpath); env is added to the
	// go command's environment (e.g. CGO_ENABLED=0). Both are in the key.
	flags []string
	env   []string
	// coldEstimate tells the user how long a build without a warm Go cache takes.
	coldEstimate string
	// postBuild adds non-binary files to the (temporary) tool dir.
	postBuild func(ctx context.Context, wrapperDir, outDir string) error
	// copied names what postBuild copies (module-relative sources). It is
	// part of the cache key, so copying more or other files makes a fresh
	// dir instead of reusing one that lacks them.
	copied []string
	// fill copies this tool's paths in dir into p.
	fill func(p *Paths, dir string) error
}

var tools = map[string]tool{
	GolangciLint: golangciLint,
	Tekton:       tekton,
	URoot:        uroot,
	Kubectl:      kubectl,
	Tkn:          tkn,
	Kubernetes: {
		name:          Kubernetes,
		versionModule: "k8s.io/kubernetes",
		packages: []string{
			"k8s.io/kubernetes/cmd/kube-apiserver",
			"k8s.io/kubernetes/cmd/kube-controller-manager",
			"k8s.io/kubernetes/cmd/kube-scheduler",
			// The node components build from the same module and share
			// most of its packages, so they add ~90 s to a cold build.
			"k8s.io/kubernetes/cmd/kubelet",
			"k8s.io/kubernetes/cmd/kube-proxy",
		},
		binaries:     []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"},
		ldflags:      kubeVersionLDFlags,
		coldEstimate: "~10 min cold",
		fill: func(p *Paths, dir string) error {
			p.KubeAPIServer = filepath.Join(dir, "kube-apiserver")
			p.KubeControllerManager = filepath.Join(dir, "kube-controller-manager")
			p.KubeScheduler = filepath.Join(dir, "kube-scheduler")
			p.Kubelet = filepath.Join(dir, "kubelet")
			p.KubeProxy = filepath.Join(dir, "kube-proxy")
			return nil
		},
	},
	Etcd: {
		name:          Etcd,
		versionModule: "go.etcd.io/etcd/server/v3",
		// The wrapper's own main package; its import path ends in /etcd, so
		// `go build -o dir/` names the binary etcd.
		packages:     []string{"."},
		binaries:     []string{"etcd"},
		coldEstimate: "~2 min cold",
		fill: func(p *Paths, dir string) error {
			p.Etcd = filepath.Join(dir, "etcd")
			return nil
		},
	},
	Kwok: {
		name:          Kwok,
		versionModule: "sigs.k8s.io/kwok",
		packages:      []string{"sigs.k8s.io/kwok/cmd/kwok"},
		binaries:      []string{"kwok"},
		coldEstimate:  "~3 min cold",
		postBuild:     copyKwokFiles,
		copied:        append(append([]string(nil), kwokStageSources...), kwokCRDSources...),
		fill: func(p *Paths, dir string) error {
			p.Kwok = filepath.Join(dir, "kwok")
			var err error
			if p.KwokStages, err = yamlFiles(filepath.Join(dir, kwokStagesDir)); err != nil {
				return err
			}
			p.KwokCRDs, err = yamlFiles(filepath.Join(dir, kwokCRDsDir))
			return err
		},
	},
	Helm: {
		name:          Helm,
		versionModule: "helm.sh/helm/v4",
		packages:      []string{"helm.sh/helm/v4/cmd/helm"},
		binaries:      []string{"helm"},
		ldflags:       helmVersionLDFlags,
		coldEstimate:  "~4 min cold",
		fill: func(p *Paths, dir string) error {
			p.Helm = filepath.Join(dir, "helm")
			return nil
		},
	},
	Crane: {
		name:          Crane,
		versionModule: "github.com/google/go-containerregistry",
		packages:      []string{"github.com/google/go-containerregistry/cmd/crane"},
		binaries:      []string{"crane"},
		ldflags: func(version string) string {
			return "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=" + version
		},
		// Static: the CI/CD deploy step image (no libc) holds this crane too.
		env:          []string{"CGO_ENABLED=0"},
		coldEstimate: "~1 min cold",
		fill: func(p *Paths, dir string) error {
			p.Crane = filepath.Join(dir, "crane")
			return nil
		},
	},
	OpenTofu: {
		name:          OpenTofu,
		versionModule: "github.com/opentofu/opentofu",
		packages:      []string{"github.com/opentofu/opentofu/cmd/tofu"},
		binaries:      []string{"tofu"},
		// Without dev=no, tofu reports itself as v1.12.6-dev.
		ldflags:      func(string) string { return "-X github.com/opentofu/opentofu/version.dev=no" },
		coldEstimate: "~5 min cold",
		fill: func(p *Paths, dir string) error {
			p.Tofu = filepath.Join(dir, "tofu")
			return nil
		},
	},
	TerraformProviderKubernetes: {
		name:          TerraformProviderKubernetes,
		versionModule: "github.com/hashicorp/terraform-provider-kubernetes",
		packages:      []string{"github.com/hashicorp/terraform-provider-kubernetes"},
		binaries:      []string{"terraform-provider-kubernetes"},
		// Built as the Dockerfile builds it: static (the operator image has
		// no libc; internal/operatorimage puts this very binary into its
		// mirror), without build paths, stripped.
		flags:        []string{"-trimpath"},
		ldflags:      func(string) string { return "-s -w" },
		env:          []string{"CGO_ENABLED=0"},
		coldEstimate: "~3 min cold",
		postBuild:    layOutProviderMirror,
		fill: func(p *Paths, dir string) error {
			mirror := filepath.Join(dir, providerMirrorDir)
			if _, err := os.Stat(filepath.Join(mirror, providerMirrorPath())); err != nil {
				return fmt.Errorf("terraform provider mirror incomplete: %w", err)
			}
			p.TerraformProviderMirror = mirror
			return nil
		},
	},
	KubeRouter: {
		name:          KubeRouter,
		versionModule: "github.com/cloudnativelabs/kube-router/v2",
		packages:      []string{"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"},
		binaries:      []string{"kube-router"},
		ldflags:       kubeRouterVersionLDFlags,
		coldEstimate:  "~4 min cold",
		fill: func(p *Paths, dir string) error {
			p.KubeRouter = filepath.Join(dir, "kube-router")
			return nil
		},
	},
}

// helmVersionLDFlags stamps the version as Helm's Makefile does: without it
// `helm version` reports only the minor line (v4.3) hard-coded in the source.
func helmVersionLDFlags(version string) string {
	const pkg = "helm.sh/helm/v4/internal/version"
	return "-X " + pkg + ".version=" + version + " -X " + pkg + ".gitTreeState=clean"
}

// kubeRouterVersionLDFlags stamps the version kube-router logs at start
// (and checks its upgrade notes against); unstamped it is empty.
func kubeRouterVersionLDFlags(version string) string {
	return "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=" + version
}

const (
	kwokStagesDir = "stages"
	kwokCRDsDir   = "crds"
)

// yamlFiles lists the *.yaml files in dir, failing when there are none.
func yamlFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	return files, nil
}

// kubeVersionLDFlags stamps the version Kubernetes' release tooling would:
// without it the apiserver reports v0.0.0-master+$Format:%H$ to discovery
// (kubectl version, clients gating on server version). Only the link step
// sees -X, so the compiled packages stay shared in the Go build cache.
func kubeVersionLDFlags(version string) string {
	major, minor, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	const pkg = "k8s.io/component-base/version"
	return strings.Join([]string{
		"-X " + pkg + ".gitVersion=" + version,
		"-X " + pkg + ".gitMajor=" + major,
		"-X " + pkg + ".gitMinor=" + minor,
		"-X " + pkg + ".gitTreeState=clean",
	}, " ")
}

// kwokStageSources are the kustomize dirs (inside the kwok module) whose Stage
// YAMLs make nodes Ready fast, keep them Ready via leases, and run pods to
// Ready/Succeeded and through deletion.
var kwokStageSources = []string{
	"kustomize/stage/node/fast",
	"kustomize/stage/node/heartbeat-with-lease",
	"kustomize/stage/pod/fast",
}

// kwokCRDSources are CRD files (inside the kwok module) of kwok's own API
// that the local cluster installs: Logs, so harness-run pods can have logs.
var kwokCRDSources = []string{
	"kustomize/crd/bases/kwok.x-k8s.io_logs.yaml",
}

// copyKwokFiles copies the Stage YAMLs and CRDs out of the module cache:
// kwok ships them only as source, and the module cache may be cleaned
// independently of our tool cache.
func copyKwokFiles(ctx context.Context, wrapperDir, outDir string) error {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok")
	cmd.Dir = wrapperDir
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("locating kwok module source: %w", err)
	}
	modDir := strings.TrimSpace(string(out))

	var stages []string
	for _, src := range kwokStageSources {
		files, err := filepath.Glob(filepath.Join(modDir, src, "*.yaml"))
		if err != nil {
			return err
		}
		sort.Strings(files)
		for _, f := range files {
			if filepath.Base(f) != "kustomization.yaml" {
				stages = append(stages, f)
			}
		}
	}
	if err := copyFiles(stages, filepath.Join(outDir, kwokStagesDir)); err != nil {
		return err
	}
	crds := make([]string, len(kwokCRDSources))
	for i, src := range kwokCRDSources {
		crds[i] = filepath.Join(modDir, src)
	}
	return copyFiles(crds, filepath.Join(outDir, kwokCRDsDir))
}

// copyFiles copies files into dir under their base names.
func copyFiles(files []string, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil { //nolint:gosec // G703: files from the kwok module, into the tool's own build dir
			return err
		}
	}
	return nil
}
