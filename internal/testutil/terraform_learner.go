package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// DoTerraformBasics does the terraform-basics exercise in a new rotation
// named name, as its learner, and waits for full marks. It returns the
// learner's terraform, run in the configuration's directory.
func (e Env) DoTerraformBasics(t *testing.T, name string) (terraform func(args ...string)) {
	ctx := context.Background()
	e.CreateRotation(t, Rotation(name).Exercises("terraform-basics").Obj())
	e.WaitReady(t, name)
	ns := "lab-" + name
	learner := e.UserClient(t, name+"@example.com")

	dir := t.TempDir()
	kubeconfig := &corev1.Secret{}
	if err := e.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.KubeconfigSecret}, kubeconfig); err != nil {
		t.Fatal(err)
	}
	kubeFile := filepath.Join(dir, "lab.kubeconfig")
	rc := filepath.Join(dir, ".terraformrc")
	write := func(name, content string) {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(kubeFile, string(kubeconfig.Data[lab.KubeconfigKey]))
	write(rc, tf.CLIConfig(e.TerraformMirror))
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	solution := TerraformSolution(t, "terraform-basics", ns)
	for name, content := range solution {
		write(filepath.Join(work, name), content)
	}
	terraform = func(args ...string) {
		t.Helper()
		bin, err := tf.FindTerraform("")
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, args...)
		cmd.Dir = work
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TF_CLI_CONFIG_FILE=" + rc,
			"KUBE_CONFIG_PATH=" + kubeFile, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("learner terraform %s: %v\n%s\nlab: %s", args[0], err, out, e.DescribeLab(ctx, ns))
		}
	}

	// Handed in before it is applied: graded, and the failures say what to do.
	Submit(t, learner, ns, "terraform-basics", solution)
	e.ExerciseResult(t, name, "terraform-basics", func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.Submission == nil || r.Submission.Digest == "" || r.State == rotationsv1.ExercisePassed {
			return fmt.Errorf("result = %+v", r)
		}
		for _, c := range r.Checks {
			if c.Name == "configmap-managed" && !c.Passed && strings.Contains(c.Message, "terraform apply") {
				return nil
			}
		}
		return fmt.Errorf("no useful failure for the unapplied configuration: %+v", r.Checks)
	})

	// Applied as the learner, with state in the lab: every check passes.
	terraform("init", "-input=false", "-no-color")
	terraform("apply", "-auto-approve", "-input=false", "-no-color")
	lr := &rotationsv1.LearningRotation{}
	defer func() {
		if t.Failed() {
			t.Logf("lab: %s", e.DescribeLab(context.Background(), ns))
		}
	}()
	Eventually(t, 4*time.Minute, func(ctx context.Context) error {
		if err := e.Admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		for _, r := range lr.Status.Exercises {
			if r.Name == "terraform-basics" {
				if r.State != rotationsv1.ExercisePassed || r.Points != r.MaxPoints {
					return fmt.Errorf("state %s, %d/%d points, checks %+v", r.State, r.Points, r.MaxPoints, r.Checks)
				}
				return nil
			}
		}
		return fmt.Errorf("no result yet")
	})
	state := &corev1.Secret{}
	if err := e.Admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tfstate-default-terraform-basics"}, state); err != nil {
		t.Errorf("the state is not in the lab: %v", err)
	}
	return terraform
}

// DescribeLab summarises a lab's workloads and warnings, for failure messages.
func (e Env) DescribeLab(ctx context.Context, ns string) string {
	var b strings.Builder
	deps := &appsv1.DeploymentList{}
	_ = e.Admin.List(ctx, deps, client.InNamespace(ns))
	for _, d := range deps.Items {
		fmt.Fprintf(&b, "deployment %s: replicas %d available %d conditions %+v\n", d.Name, ptr.Deref(d.Spec.Replicas, 0), d.Status.AvailableReplicas, d.Status.Conditions)
	}
	pods := &corev1.PodList{}
	_ = e.Admin.List(ctx, pods, client.InNamespace(ns))
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s node %q\n", p.Name, p.Status.Phase, p.Spec.NodeName)
	}
	events := &corev1.EventList{}
	_ = e.Admin.List(ctx, events, client.InNamespace(ns))
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning {
			fmt.Fprintf(&b, "event %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}
