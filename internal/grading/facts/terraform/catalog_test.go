package terraform_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
	"github.com/handson-dev/rotation-operator/internal/grading/facts/kube"
	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/labs"
)

var updateLabs = flag.Bool("update-labs", false, "record the solved facts of the terraform exercises in labs/testdata/terraform")

// namespacePlaceholder stands for the lab namespace in starter and solution files.
const namespacePlaceholder = "lab-CHANGE-ME"

// TestCatalogExercises does every exercise of the terraform track as a
// learner: the starter objects are created, the solution in
// labs/testdata/terraform/<exercise> is applied with the real terraform CLI,
// and the submission is graded by a Collector over the real runner. Every
// check must pass; the submission before it is applied must not.
func TestCatalogExercises(t *testing.T) {
	needCluster(t)
	catalog, err := labs.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	ex := executor(t)
	if testing.Verbose() {
		ex.Trace = os.Stderr
	}
	collector, err := tf.NewCollector(tf.Options{Executor: ex, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range catalog {
		ex := &catalog[i]
		if ex.Spec.Track != "terraform" {
			continue
		}
		n++
		t.Run(ex.Name, func(t *testing.T) {
			program, err := grading.Compile(&ex.Spec)
			if err != nil {
				t.Fatal(err)
			}
			l := newLab(t, strings.TrimPrefix(ex.Name, "terraform-"))
			createStarters(t, l, ex)
			solution := readSolution(t, l, ex.Name)
			grade := func(files map[string]string) (grading.Result, map[string]any) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
				defer cancel()
				facts, err := collector.Collect(ctx, tf.Request{Namespace: l.namespace, Exercise: ex.Name, Files: files, Kubeconfig: l.kubeconfig})
				if err != nil {
					t.Fatalf("collect: %v", err)
				}
				return evaluate(t, program, l, facts), facts
			}

			start := time.Now()
			phase := func(what string) {
				t.Logf("%s: %s", what, time.Since(start).Round(100*time.Millisecond))
				start = time.Now()
			}
			defer phase("graded the solution")
			// Handed in before anything is applied: not a pass.
			if r, facts := grade(solution); r.Passed {
				t.Errorf("the solution passes before it is applied:\n%s", dump(facts))
			}

			dir := t.TempDir()
			if ex.Name == "terraform-drift" {
				// The starter applied, then a colleague's hot fix by hand.
				starter := map[string]string{}
				for name, content := range ex.Spec.Starter.Files {
					starter[name] = strings.ReplaceAll(content, namespacePlaceholder, l.namespace)
				}
				starter["terraform.tfvars"] = solution["terraform.tfvars"]
				writeFiles(t, dir, starter)
				learnerInitApply(t, l, dir)
				driftByHand(t, l)
				r, facts := grade(starter)
				if failing := failingChecks(r); fmt.Sprint(failing) != "[checkout-adopted in-sync no-drift replicas-reverted]" {
					t.Errorf("after the hand-made changes, failing checks %v, want checkout-adopted, in-sync, no-drift, replicas-reverted\n%s", failing, dump(facts))
				}
				if len(get(facts, "drift").([]any)) != 2 {
					t.Errorf("drift %s: want the ConfigMap and the Deployment", dump(get(facts, "drift")))
				}
			}
			phase("graded before applying")
			writeFiles(t, dir, solution)
			learnerInitApply(t, l, dir)
			phase("applied the solution")

			var (
				r     grading.Result
				facts map[string]any
			)
			deadline := time.Now().Add(90 * time.Second)
			for {
				r, facts = grade(solution)
				if r.Passed || time.Now().After(deadline) {
					break
				}
				time.Sleep(2 * time.Second) // Deployments becoming available
			}
			if !r.Passed {
				t.Fatalf("the solution does not pass: failing %v\n%s", failingMessages(r), dump(facts))
			}
			// The state the apply wrote names the objects a reset deletes:
			// each exists, in the lab.
			state := &corev1.Secret{}
			if err := admin.Get(context.Background(), client.ObjectKey{Namespace: l.namespace, Name: "tfstate-default-" + ex.Name}, state); err != nil {
				t.Fatalf("state Secret: %v", err)
			}
			objs, err := tf.StateObjects(state.Data["tfstate"])
			if err != nil || len(objs) == 0 {
				t.Fatalf("objects in the state: %v %v", objs, err)
			}
			for _, o := range objs {
				u := &unstructured.Unstructured{}
				u.SetGroupVersionKind(o.GroupVersionKind)
				if err := admin.Get(context.Background(), client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, u); err != nil || o.Namespace != l.namespace {
					t.Errorf("state object %+v: %v", o, err)
				}
			}
			if *updateLabs {
				recordFacts(t, l, ex.Name, facts)
			}
		})
	}
	if n < 4 {
		t.Errorf("%d terraform exercises in the catalog, want at least 4", n)
	}
}

// createStarters creates an exercise's starter objects in the lab, labelled
// as the operator does.
func createStarters(t *testing.T, l *testLab, ex *rotationsv1.Exercise) {
	t.Helper()
	for _, raw := range ex.Spec.Starter.Objects {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace(l.namespace)
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[rotationsv1.LabelExercise] = ex.Name
		labels[rotationsv1.LabelRotation] = l.name
		u.SetLabels(labels)
		if err := admin.Create(context.Background(), u); err != nil {
			t.Fatalf("starter %s: %v", u.GetName(), err)
		}
	}
}

func readSolution(t *testing.T, l *testLab, exercise string) map[string]string {
	t.Helper()
	dir := filepath.Join(repoRoot, "labs", "testdata", "terraform", exercise)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = strings.ReplaceAll(string(b), namespacePlaceholder, l.namespace)
	}
	return files
}

func learnerInitApply(t *testing.T, l *testLab, dir string) {
	t.Helper()
	if out, err := l.learnerTerraform(t, dir, "init", "-input=false", "-no-color", "-reconfigure"); err != nil {
		t.Fatalf("learner terraform init: %v\n%s", err, out)
	}
	if out, err := l.learnerTerraform(t, dir, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("learner terraform apply: %v\n%s\nlab:\n%s", err, out, labState(l))
	}
}

// labState describes the lab's workloads, for failures.
func labState(l *testLab) string {
	ctx := context.Background()
	var b strings.Builder
	deps := &appsv1.DeploymentList{}
	_ = admin.List(ctx, deps, client.InNamespace(l.namespace))
	for _, d := range deps.Items {
		fmt.Fprintf(&b, "deployment %s: generation %d spec.replicas %d status %+v\n", d.Name, d.Generation, *d.Spec.Replicas, d.Status)
	}
	pods := &corev1.PodList{}
	_ = admin.List(ctx, pods, client.InNamespace(l.namespace))
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: phase %s deleting %v node %q\n", p.Name, p.Status.Phase, p.DeletionTimestamp != nil, p.Spec.NodeName)
	}
	return b.String()
}

// driftByHand is the colleague's hot fix of terraform-drift's instructions.
func driftByHand(t *testing.T, l *testLab) {
	t.Helper()
	ctx := context.Background()
	dep := &appsv1.Deployment{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: "tf-shop"}, dep); err != nil {
		t.Fatal(err)
	}
	dep.Spec.Replicas = ptrInt32(5)
	if err := admin.Update(ctx, dep); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: l.namespace, Name: "shop-settings"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["checkout"] = "on"
	if err := admin.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
}

// evaluate runs an exercise's checks over the terraform facts and the kube
// facts they read, as the operator does.
func evaluate(t *testing.T, p *grading.Program, l *testLab, facts map[string]any) grading.Result {
	t.Helper()
	var kinds []string
	for _, f := range p.Facts {
		if v, name, _ := strings.Cut(f, "."); v == grading.VarKube {
			kinds = append(kinds, name)
		}
	}
	kc := &kube.Collector{Reader: admin}
	kubeFacts, err := kc.Collect(context.Background(), l.namespace, kinds)
	if err != nil {
		t.Fatal(err)
	}
	return p.Evaluate(context.Background(), map[string]any{
		grading.VarKube:      kubeFacts,
		grading.VarTerraform: facts,
		grading.VarLab:       map[string]any{"namespace": l.namespace, "rotation": l.name},
	})
}

func failingChecks(r grading.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}

func failingMessages(r grading.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c.Name+": "+c.Message)
		}
	}
	return out
}

// volatile are values that differ from run to run: ids the apiserver
// assigns. Recorded facts replace them so the files stay stable.
var volatile = regexp.MustCompile(`"(uid|resource_version)": "[^"]*"`)

// recordFacts writes the solved facts with the lab namespace and rotation
// replaced by labs' test lab (lab-x, rotation x).
func recordFacts(t *testing.T, l *testLab, exercise string, facts map[string]any) {
	t.Helper()
	b, err := json.MarshalIndent(facts, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), l.namespace, "lab-x")
	s = strings.ReplaceAll(s, l.name, "x")
	s = volatile.ReplaceAllString(s, `"$1": "recorded"`)
	p := filepath.Join(repoRoot, "labs", "testdata", "terraform", exercise+".facts.json")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", p)
}
