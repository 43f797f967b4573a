package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// helmChart is a tiny chart, web 0.1.0: a Deployment that passes Pod
// Security "restricted" (the securityContext of restrictedDeployment) and a
// Service, both named after the release.
var helmChart = map[string]string{
	"Chart.yaml": `apiVersion: v2
name: web
description: A tiny web server for the Helm exercise
type: application
version: 0.1.0
appVersion: "1.0"
`,
	"values.yaml": `replicaCount: 1
image:
  tag: "1.0"
`,
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: app
        image: "rotation.local/web:{{ .Values.image.tag }}"
        ports:
        - containerPort: 8080
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        resources:
          requests:
            cpu: 50m
            memory: 64Mi
          limits:
            cpu: 100m
            memory: 128Mi
`,
	"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
  - port: 80
    targetPort: 8080
`,
}

// helmExercise asks for the release web with 2 replicas, upgraded to the
// image 1.1 and then rolled back to revision 2, its Deployment available.
func helmExercise(name string) *rotationsv1.Exercise {
	const web = "helm.releases['web']"
	return &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackHelm, Title: "Install, upgrade and roll back web",
			Instructions:     "# Install the chart as release web with 2 replicas, upgrade its image to 1.1, then roll back to revision 2",
			EstimatedMinutes: 20,
			Checks: []rotationsv1.Check{
				{Name: "installed", Points: 5, Message: "install the chart as a release named web",
					Expression: "helm.releases[?'web'].status.orValue('') == 'deployed'"},
				{Name: "two-replicas", Points: 10, Message: "set replicaCount to 2 in the release's values",
					Expression: "helm.releases[?'web'].values.replicaCount.orValue(0) == 2"},
				{Name: "upgraded-then-rolled-back", Points: 10, Message: "upgrade web to image.tag 1.1, then roll back to revision 2",
					Expression: "'web' in helm.releases && size(" + web + ".history) >= 3" +
						" && " + web + ".history.exists(h, h.values.?image.?tag.orValue('') == '1.1')" +
						" && type(" + web + ".rollbackRevision) == int && " + web + ".rollbackRevision == 2"},
				{Name: "deployment-available", Points: 5, Message: "the Deployment web has 2 available replicas",
					Expression: "kube.deployments[?'web'].status.availableReplicas.orValue(0) >= 2"},
			},
			Hints: []rotationsv1.Hint{
				{Text: "helm upgrade web <chart> --set replicaCount=2", AfterFailedAttempts: ptr.To(int32(1))},
			},
		},
	}
}

// helmCLI runs the real helm CLI as the learner: its environment holds only
// HOME, Helm's own dirs and KUBECONFIG, so nothing from the test's
// environment (an admin kubeconfig, a proxy) leaks in.
type helmCLI struct {
	bin string
	env []string
	dir string
}

func newHelmCLI(t testing.TB, kubeconfig []byte) *helmCLI {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a cold machine builds helm
	defer cancel()
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.Helm)
	if err != nil {
		t.Fatalf("helm CLI: %v", err)
	}
	dir := t.TempDir()
	kcfg := filepath.Join(dir, "learner.kubeconfig")
	if err := os.WriteFile(kcfg, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"KUBECONFIG=" + kcfg}
	for _, d := range []string{"HOME", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		p := filepath.Join(dir, strings.ToLower(d))
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		env = append(env, d+"="+p)
	}
	return &helmCLI{bin: paths.Helm, env: env, dir: dir}
}

// run runs helm with args and returns its combined output.
func (h *helmCLI) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs helm and fails the test, with helm's output, if it fails.
func (h *helmCLI) must(t testing.TB, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := h.run(args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("helm %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}

func writeChart(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "web")
	for name, content := range helmChart {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func checkResult(r *rotationsv1.ExerciseResult, name string) (rotationsv1.CheckResult, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return rotationsv1.CheckResult{}, false
}

// TestHelmLearnerJourney: a learner drives the real helm CLI with only the
// kubeconfig the operator issued, and the grader follows the release through
// install, upgrades and a rollback, reading Helm's release Secrets.
func TestHelmLearnerJourney(t *testing.T) {
	ctx := context.Background()
	const rotation, exercise, ns = "helmer", "t-helm", "lab-helmer"
	chart := writeChart(t)
	createExercise(t, helmExercise(exercise))
	createRotation(t, testutil.Rotation(rotation).Exercises(exercise).Obj())
	waitReady(t, rotation)

	secret := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "learner-kubeconfig"}, secret); err != nil {
		t.Fatal(err)
	}
	helm := newHelmCLI(t, secret.Data["kubeconfig"])

	// The baseline grading, before the learner does anything: later changes
	// are the learner's attempts.
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseNotStarted || r.MaxPoints != 30 || r.Points != 0 || len(r.Checks) != 4 {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})

	// A wrong attempt: installed, but with one replica. No -n: the
	// kubeconfig's context defaults to the lab namespace.
	helm.must(t, "install", "web", chart, "--set", "replicaCount=1")
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExerciseInProgress || r.Attempts < 1 || r.FailedAttempts < 1 {
			return fmt.Errorf("result = %+v", r)
		}
		if c, _ := checkResult(r, "installed"); !c.Passed {
			return fmt.Errorf("check installed = %+v", c)
		}
		if c, _ := checkResult(r, "two-replicas"); c.Passed || c.Message != "set replicaCount to 2 in the release's values" {
			return fmt.Errorf("check two-replicas = %+v", c)
		}
		if r.Hint != "helm upgrade web <chart> --set replicaCount=2" {
			return fmt.Errorf("hint %d %q", r.HintsUnlocked, r.Hint)
		}
		return nil
	})

	// Fixed, upgraded to a new image, then rolled back to the fixed revision.
	helm.must(t, "upgrade", "web", chart, "--set", "replicaCount=2")
	helm.must(t, "upgrade", "web", chart, "--set", "replicaCount=2", "--set", "image.tag=1.1")
	exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if c, _ := checkResult(r, "two-replicas"); !c.Passed {
			return fmt.Errorf("check two-replicas = %+v", c)
		}
		if c, _ := checkResult(r, "upgraded-then-rolled-back"); c.Passed {
			return fmt.Errorf("check upgraded-then-rolled-back passes before any rollback: %+v", c)
		}
		if r.State == rotationsv1.ExercisePassed {
			return fmt.Errorf("passed before the rollback: %+v", r)
		}
		return nil
	})
	helm.must(t, "rollback", "web", "2")

	lr := exerciseResult(t, rotation, exercise, func(_ *rotationsv1.LearningRotation, r *rotationsv1.ExerciseResult) error {
		if r.State != rotationsv1.ExercisePassed || r.Points != 30 || r.BestPoints != 30 || r.FirstPassedAt == nil {
			return fmt.Errorf("result = %+v", r)
		}
		return nil
	})
	if lr.Status.Score != 30 || lr.Status.Progress != "1/1" {
		t.Errorf("score %d progress %q", lr.Status.Score, lr.Status.Progress)
	}

	// Helm itself agrees on the history the grader read.
	var history []struct {
		Revision    int    `json:"revision"`
		Status      string `json:"status"`
		Description string `json:"description"`
	}
	out := helm.must(t, "history", "web", "-o", "json")
	if err := json.Unmarshal([]byte(out), &history); err != nil {
		t.Fatalf("helm history: %v\n%s", err, out)
	}
	if len(history) != 4 || history[3].Status != "deployed" || history[3].Description != "Rollback to 2" {
		t.Errorf("helm history = %+v, want 4 revisions, the last a deployed rollback to 2", history)
	}

	// The same kubeconfig reaches no other namespace's releases.
	for _, args := range [][]string{{"list", "-n", "default"}, {"list", "-n", "kube-system"}, {"list", "--all-namespaces"}} {
		out, err := helm.run(args...)
		if err == nil || !strings.Contains(out, "forbidden") {
			t.Errorf("helm %s as the learner: err = %v, want forbidden\n%s", strings.Join(args, " "), err, out)
			continue
		}
		t.Logf("helm %s as the learner: %s", strings.Join(args, " "), strings.TrimSpace(out))
	}
}
