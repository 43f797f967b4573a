package embedded

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// journey is what the printed next steps need: where things are, so that
// every command can be pasted as is.
type journey struct {
	Admin, Learner string // kubeconfigs
	Rotation       *rotationsv1.LearningRotation
	Node           localcluster.NodeMode
	Registry       registry.Config
	CLIs           toolchain.LearnerCLIs
	// TerraformRC is the learner's Terraform CLI config (TF_CLI_CONFIG_FILE)
	// pointing at Mirror.
	TerraformRC, Mirror string
	// Plugin is the kubectl plugin binary (make run builds it).
	Plugin string
	// Labs is the catalog's folder (labs/), for the reference solutions.
	Labs string
}

// printNextSteps prints one working path through every track of the
// sample rotation: a mentor's view, the learner's shell setup, then per
// track an exercise's first commands (kubectl; helm install of the
// offline chart; terraform init/apply with the mirror; a crane push to the
// lab registry).
func printNextSteps(out io.Writer, j journey) {
	lr := j.Rotation
	ns := lab.Namespace(lr.Name)
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

	p("\nrotation-operator is running on the embedded control plane (%s), and the sample\n", nodeWords(j.Node))
	p("rotation %q is Ready: lab namespace %s for learner %s, tracks %s.\n\n", lr.Name, ns, lr.Spec.Learner.Name, tracks(lr))
	p("  admin kubeconfig:    %s\n", j.Admin)
	p("  learner kubeconfig:  %s\n", j.Learner)
	if j.TerraformRC != "" {
		p("  Terraform CLI config for the learner (TF_CLI_CONFIG_FILE): %s\n", j.TerraformRC)
		for _, l := range strings.Split(strings.TrimRight(terraformCLIConfig(j.Mirror), "\n"), "\n") {
			p("    %s\n", l)
		}
	}

	p("\nAs a mentor (admin), in another terminal:\n")
	p("  export KUBECONFIG=%s\n", j.Admin)
	p("  kubectl get learningrotations          # or: kubectl get lr -o wide\n")
	p("  kubectl describe lr %s\n", lr.Name)
	p("  kubectl get all,resourcequota,networkpolicy -n %s\n", ns)
	p("  kubectl get events -A --field-selector involvedObject.name=%s\n", lr.Name)

	p("\nAs the learner, in another terminal (once, to set up the shell):\n")
	p("  export KUBECONFIG=%s KUBE_CONFIG_PATH=%s\n", j.Learner, j.Learner)
	if j.TerraformRC != "" {
		p("  export TF_CLI_CONFIG_FILE=%s\n", j.TerraformRC)
	}
	if path := pathDirs(j); path != "" {
		p("  export PATH=%s:$PATH   # %s\n", path, pathWhat(j))
	}
	if !executable(j.Plugin) {
		p("  make plugin                             # builds %s (kubectl rotation)\n", j.Plugin)
	}
	p("  kubectl rotation list                   # your exercises, points and status\n")
	p("  kubectl rotation instructions helm-install   # any exercise's instructions, in the terminal\n")
	work := "~/rotation-" + lr.Name

	p("\n Kubernetes track (scale-and-expose: the lab starts with a Deployment web):\n")
	p("  kubectl get deployments                 # web is Available %s\n", availableWhy(j.Node))
	p("  kubectl scale deployment web --replicas=3\n")
	p("  kubectl expose deployment web --port=80 --target-port=8080\n")
	p("  kubectl rollout status deployment web   # scale-and-expose passes; as the mentor: kubectl get lr %s\n", lr.Name)
	if j.Node == localcluster.NodeReal {
		p("  kubectl logs deploy/web\n")
		p("  kubectl exec deploy/web -- /web get http://127.0.0.1:8080/\n")
		p("  kubectl port-forward deploy/web 8080:8080   # then: curl localhost:8080\n")
	}
	p("  kubectl get secrets -n kube-system      # forbidden: outside the lab\n")

	p("\n Helm track (helm-install: the chart comes in the exercise's ConfigMap, no repository needed):\n")
	p("  mkdir -p %s/helm && cd %s/helm\n", work, work)
	p("  kubectl get configmap exercise-helm-install -o jsonpath='{.data.web-0\\.1\\.0\\.tgz\\.b64}' | base64 -d > web-0.1.0.tgz\n")
	p("  %s install hello ./web-0.1.0.tgz --set replicaCount=2 --set service.port=8080\n", cli(j.CLIs.Helm, "helm"))
	p("  kubectl rotation status                 # helm-install passes once hello's 2 pods are available\n")

	p("\n Terraform track (terraform-basics: the kubernetes provider comes from the mirror above):\n")
	if j.TerraformRC == "" {
		p("  (not in this run: the provider mirror could not be built, see above)\n")
	}
	p("  mkdir -p %s/terraform && cd %s/terraform\n", work, work)
	p("  kubectl get configmap exercise-terraform-basics -o jsonpath='{.data.backend\\.tf}' | sed 's/lab-CHANGE-ME/%s/' > backend.tf\n", ns)
	tfCmd := cli(j.CLIs.Terraform, "terraform")
	p("  %[1]s init && %[1]s apply             # state in your lab; then add main.tf as the instructions say\n", tfCmd)
	p("  kubectl rotation submit terraform-basics .   # after every apply\n")

	host := j.Registry.Host
	repo := j.Registry.Repository(ns, "hello-release")
	p("\n Docker track (docker-release-by-digest: push to the lab registry %s with crane):\n", host)
	p("  mkdir -p %s/docker && cd %s/docker\n", work, work)
	p("  kubectl get secret lab-registry -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d > config.json && export DOCKER_CONFIG=$PWD\n")
	p("  kubectl get configmap exercise-docker-release-by-digest -o jsonpath='{.data.main\\.go}' > main.go\n")
	p("  kubectl get configmap exercise-docker-release-by-digest -o jsonpath='{.data.deployment\\.yaml}' > deployment.yaml\n")
	p("  CGO_ENABLED=0 go build -o hello main.go && tar -cf hello.tar hello\n")
	crane := cli(j.CLIs.Crane, "crane")
	insecure := ""
	if j.Registry.Insecure {
		insecure = " --insecure"
	}
	p("  %s mutate%s %s --append hello.tar --entrypoint /hello -t %s:1.0.0\n", crane, insecure, j.Registry.LibraryRepository("static:nonroot"), repo)
	p("  sed -i \"s|REGISTRY/LAB/hello-release@sha256:DIGEST|$(%s digest%s --full-ref %s:1.0.0)|\" deployment.yaml && kubectl apply -f deployment.yaml\n", crane, insecure, repo)
	p("  kubectl rotation status                 # docker-release-by-digest passes once hello-release is Available\n")

	sol := filepath.Join(j.Labs, "cicd", "cicd-test-pipeline", "solution")
	p("\n CI/CD track (cicd-test-pipeline: Tekton Pipelines, once the CI/CD engine line says it is served):\n")
	if j.Node != localcluster.NodeReal {
		p("  (not in this run: pipeline steps are pods that must run, and the node is kwok's fake one)\n")
	}
	p("  kubectl rotation instructions cicd-test-pipeline\n")
	p("  kubectl apply -f %s -f %s   # the reference solution: write your own\n", filepath.Join(sol, "task.yaml"), filepath.Join(sol, "pipeline.yaml"))
	p("  kubectl create -f %s && kubectl get pipelineruns -w\n", filepath.Join(sol, "run.yaml"))
	p("  %s pipelinerun logs --last -f        # the run's go test output, with Tekton's CLI\n", cli(j.CLIs.Tkn, "tkn"))
	p("  kubectl rotation status                 # cicd-test-pipeline passes once the run Succeeded\n")
	fmt.Fprintln(out, b.String())
}

func nodeWords(node localcluster.NodeMode) string {
	if node == localcluster.NodeReal {
		return "real node: containers run"
	}
	return "fake node (kwok): pods are scheduled and Ready, but no container runs"
}

func availableWhy(node localcluster.NodeMode) string {
	if node == localcluster.NodeReal {
		return "because its containers really run on the node"
	}
	return "on the fake node (kwok: scheduled and Ready, but no container runs)"
}

func tracks(lr *rotationsv1.LearningRotation) string {
	var ts []string
	for _, t := range lr.Spec.Exercises.Tracks {
		ts = append(ts, string(t))
	}
	if len(ts) == 0 {
		return "(exercises by name)"
	}
	return strings.Join(ts, ", ")
}

// pathDirs are the directories to put on PATH for the plugin and the CLIs
// the toolchain built (CLIs found on PATH need nothing).
func pathDirs(j journey) string {
	var dirs []string
	add := func(bin string) {
		if bin == "" {
			return
		}
		d := filepath.Dir(bin)
		for _, e := range dirs {
			if e == d {
				return
			}
		}
		dirs = append(dirs, d)
	}
	add(j.Plugin)
	for _, c := range []string{j.CLIs.Helm, j.CLIs.Crane, j.CLIs.Terraform, j.CLIs.Tkn} {
		if c != "" && !onPath(c) {
			add(c)
		}
	}
	return strings.Join(dirs, ":")
}

func pathWhat(j journey) string {
	what := []string{"kubectl-rotation"}
	if j.CLIs.Helm != "" && !onPath(j.CLIs.Helm) {
		what = append(what, "helm")
	}
	for _, c := range []string{j.CLIs.Crane, j.CLIs.Terraform, j.CLIs.Tkn} {
		if c != "" && !onPath(c) {
			what = append(what, filepath.Base(c))
		}
	}
	return strings.Join(what, ", ")
}

// onPath tells whether bin is in one of $PATH's directories.
func onPath(bin string) bool {
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == filepath.Dir(bin) {
			return true
		}
	}
	return false
}

// cli is the command name to print for a CLI: its base name (PATH is set
// up above), or a hint when there is none.
func cli(path, name string) string {
	if path == "" {
		return name + " (not installed)"
	}
	return filepath.Base(path)
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}
