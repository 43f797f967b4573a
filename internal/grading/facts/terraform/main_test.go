package terraform_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// The integration tests run the real runner (this test binary, dispatching
// `runner terraform` to RunnerMain exactly as the operator binary does) with
// the real terraform CLI and the provider built into the mirror, against a
// real control plane (apiserver, etcd, controller-manager, scheduler, kwok:
// Deployments roll out, which the provider waits for).
var (
	cluster   *localcluster.Cluster
	admin     client.Client
	clientset *kubernetes.Clientset
	mirror    string
	terraform string
	repoRoot  string
)

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == tf.Subcommand[0] && os.Args[2] == tf.Subcommand[1] {
		os.Exit(tf.RunnerMain(os.Args[3:], os.Stdout, os.Stderr))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	ctx := context.Background()
	var err error
	repoRoot, err = filepath.Abs("../../../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	flag.Parse()
	if testing.Short() {
		// Unit tests only (no cluster): the integration tests skip.
		return m.Run()
	}
	paths, err := toolchain.Ensure(ctx, os.Stderr, toolchain.TerraformProviderKubernetes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "toolchain:", err)
		return 1
	}
	mirror = paths.TerraformProviderMirror
	if terraform, err = tf.FindTerraform(""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		Full:      true,
		Manifests: []string{filepath.Join(repoRoot, "config", "rbac", "lab_roles.yaml")},
		Progress:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	admin, err = client.New(cluster.Config, client.Options{})
	if err == nil {
		clientset, err = kubernetes.NewForConfig(cluster.Config)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = cluster.Stop()
		return 1
	}
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 20)
	}
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
	}
	return code
}

func needCluster(t testing.TB) {
	t.Helper()
	if cluster == nil {
		t.Skip("integration test: needs the local cluster (not in -short mode)")
	}
}

// testLab is a lab namespace with the learner's ServiceAccount bound to
// the learner ClusterRole (config/rbac/lab_roles.yaml), as the operator
// provisions it, and a TokenRequest kubeconfig.
type testLab struct {
	name       string // rotation name
	namespace  string
	kubeconfig []byte
	kubeFile   string // the kubeconfig on disk, for the learner's terraform
}

var labSeq int

func newLab(t testing.TB, rotation string) *testLab {
	t.Helper()
	needCluster(t)
	ctx := context.Background()
	labSeq++
	rotation = fmt.Sprintf("%s-%d-%d", rotation, time.Now().UnixNano()%100000, labSeq)
	ns := lab.Namespace(rotation)
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "learner", Namespace: ns}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "learner", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rotation-operator:learner"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "learner", Namespace: ns}},
		},
	} {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T: %v", obj, err)
		}
	}
	t.Cleanup(func() {
		_ = admin.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	})
	tr, err := clientset.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "learner", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	kc, err := lab.Kubeconfig(cluster.Config.Host, cluster.Config.CAData, rotation, tr.Status.Token)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "lab.kubeconfig")
	if err := os.WriteFile(f, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return &testLab{name: rotation, namespace: ns, kubeconfig: kc, kubeFile: f}
}

// learnerTerraform runs the real terraform CLI as a learner would, in dir,
// with KUBE_CONFIG_PATH set to the lab kubeconfig and the same provider
// mirror, and returns its combined output.
func (l *testLab) learnerTerraform(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	rc := filepath.Join(dir, ".learner.terraformrc")
	if _, err := os.Stat(rc); err != nil {
		if err := os.WriteFile(rc, []byte(tf.CLIConfig(mirror)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// apply waits for Deployments to roll out; on a loaded 2-core machine
	// kwok and the controllers can take minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, terraform, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "TF_CLI_CONFIG_FILE=" + rc,
		"KUBE_CONFIG_PATH=" + l.kubeFile, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// apply writes files into a fresh dir and runs init and apply as the learner.
func (l *testLab) apply(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	if out, err := l.learnerTerraform(t, dir, "init", "-input=false", "-no-color"); err != nil {
		t.Fatalf("learner terraform init: %v\n%s", err, out)
	}
	if out, err := l.learnerTerraform(t, dir, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("learner terraform apply: %v\n%s", err, out)
	}
	return dir
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// executor is a LocalExecutor running this test binary as the runner,
// with the sandbox required: a test that passes proves it was used.
func executor(t testing.TB) *tf.LocalExecutor {
	t.Helper()
	return &tf.LocalExecutor{
		Binary:    os.Args[0],
		Terraform: terraform,
		Mirror:    mirror,
		Sandbox:   tf.SandboxRequired,
		Hide:      []string{cluster.WorkDir},
		Timeouts:  tf.Timeouts{Lock: 3 * time.Second},
	}
}

// grade runs one submission through a LocalExecutor.
func (l *testLab) grade(t testing.TB, e *tf.LocalExecutor, exercise string, files map[string]string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	facts, err := e.Execute(ctx, tf.Request{Namespace: l.namespace, Exercise: exercise, Files: files, Kubeconfig: l.kubeconfig})
	if err != nil {
		t.Fatalf("grading: %v", err)
	}
	return facts
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// get walks facts along a path of map keys and list indices.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// contains reports whether any string (or key) in v contains s.
func contains(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, s) || contains(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if contains(e, s) {
				return true
			}
		}
	}
	return false
}
