package testutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// helmChart is a tiny chart, web 0.1.0: a Deployment that passes Pod
// Security "restricted" (the securityContext of the restricted Deployment the controllers tests build) and a
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

// HelmExercise asks for the release web with 2 replicas, upgraded to the
// image 1.1 and then rolled back to revision 2, its Deployment available.
func HelmExercise(name string) *rotationsv1.Exercise {
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

// HelmCLI runs the real helm CLI as the learner: its environment holds only
// HOME, Helm's own dirs and KUBECONFIG, so nothing from the test's
// environment (an admin kubeconfig, a proxy) leaks in.
type HelmCLI struct {
	bin string
	env []string
	dir string
}

// NewHelmCLI makes the learner's helm, with kubeconfig as its only
// credentials (helm is built on first use).
func NewHelmCLI(t testing.TB, kubeconfig []byte) *HelmCLI {
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
	return &HelmCLI{bin: paths.Helm, env: env, dir: dir}
}

// Run runs helm with args and returns its combined output.
func (h *HelmCLI) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	cmd.Dir = h.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Must runs helm and fails the test, with helm's output, if it fails.
func (h *HelmCLI) Must(t testing.TB, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := h.Run(args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("helm %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}

// WriteChart writes the tiny chart web 0.1.0 into a temporary directory
// and returns its path.
func WriteChart(t testing.TB) string {
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
