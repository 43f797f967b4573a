package embedded

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// The sample make run applies selects every track.
func TestSampleHasEveryTrack(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "rotations_v1alpha1_learningrotation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lr := &rotationsv1.LearningRotation{}
	if err := yaml.UnmarshalStrict(b, lr); err != nil {
		t.Fatal(err)
	}
	got := map[rotationsv1.Track]bool{}
	for _, tr := range lr.Spec.Exercises.Tracks {
		got[tr] = true
	}
	for _, want := range rotationsv1.Tracks {
		if !got[want] {
			t.Errorf("the sample lacks the %s track: %v", want, lr.Spec.Exercises.Tracks)
		}
	}
}

// The next steps give a command per track, with the paths of the CLIs the
// toolchain built and the Terraform CLI config.
func TestNextStepsCoverEveryTrack(t *testing.T) {
	lr := &rotationsv1.LearningRotation{}
	lr.Name = "alice"
	lr.Spec.Learner.Name = "alice@example.com"
	lr.Spec.Exercises.Tracks = []rotationsv1.Track{"kubernetes", "helm", "terraform", "docker", "cicd"}
	var out strings.Builder
	printNextSteps(&out, journey{
		Admin: "/w/kubeconfig", Learner: "/w/learner.kubeconfig", Rotation: lr, Node: localcluster.NodeFake,
		Registry:    registry.Config{Host: "127.0.0.1:5000", Insecure: true},
		CLIs:        toolchain.LearnerCLIs{Helm: "/cache/helm-v4/helm", Crane: "/cache/crane-v0/crane", Terraform: "/usr/bin/terraform", Tkn: "/cache/tkn-v0/tkn"},
		TerraformRC: "/w/terraform.tfrc", Mirror: "/cache/mirror", Plugin: "/repo/bin/kubectl-rotation", Labs: "/repo/labs",
	})
	s := out.String()
	for _, want := range []string{
		"export KUBECONFIG=/w/learner.kubeconfig",
		"export TF_CLI_CONFIG_FILE=/w/terraform.tfrc",
		`path    = "/cache/mirror"`,
		"export PATH=/repo/bin:/cache/helm-v4:/cache/crane-v0:/cache/tkn-v0:$PATH",
		"kubectl scale deployment web --replicas=3",
		"kubectl expose deployment web --port=80 --target-port=8080",
		"helm install hello ./web-0.1.0.tgz --set replicaCount=2 --set service.port=8080",
		"sed 's/lab-CHANGE-ME/lab-alice/' > backend.tf",
		"terraform init && terraform apply",
		"crane mutate --insecure 127.0.0.1:5000/library/static:nonroot --append hello.tar --entrypoint /hello -t 127.0.0.1:5000/lab-alice/hello-release:1.0.0",
		"kubectl rotation submit terraform-basics .",
		"kubectl apply -f /repo/labs/cicd/cicd-test-pipeline/solution/task.yaml -f /repo/labs/cicd/cicd-test-pipeline/solution/pipeline.yaml",
		"kubectl create -f /repo/labs/cicd/cicd-test-pipeline/solution/run.yaml",
		"tkn pipelinerun logs --last -f",
		"not in this run: pipeline steps are pods that must run",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("next steps lack %q:\n%s", want, s)
		}
	}
}

func TestTerraformCLIConfigUsesOnlyTheMirror(t *testing.T) {
	tmp := t.TempDir()
	mirror := filepath.Join(tmp, `a "b"`, "mirror")
	bin := filepath.Join(mirror, filepath.FromSlash(toolchain.TerraformProviderMirrorPath(runtime.GOOS, runtime.GOARCH)))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("provider"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tmp, "terraform.tfrc")
	dir, err := writeTerraformCLIConfig(path, mirror)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `filesystem_mirror`) || !strings.Contains(string(b), `path    = "`+dir+`"`) || strings.Contains(string(b), "direct") {
		t.Errorf("CLI config:\n%s", b)
	}
	// terraform and tofu find the provider under their own registry host.
	for _, host := range []string{"registry.terraform.io", "registry.opentofu.org"} {
		rel := strings.TrimPrefix(toolchain.TerraformProviderMirrorPath(runtime.GOOS, runtime.GOARCH), "registry.terraform.io/")
		if _, err := os.Stat(filepath.Join(dir, host, filepath.FromSlash(rel))); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}
