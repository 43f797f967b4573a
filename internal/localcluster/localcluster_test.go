package localcluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// cluster is one Full cluster shared by the tests of this package.
var cluster *Cluster

// TestMain builds the tools if needed and starts the cluster before m.Run,
// so a cold (~10 min) tool build is not cut short by go test's -timeout,
// which only starts counting inside m.Run.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard()) // envtest logs via controller-runtime
	ctx := context.Background()
	ensureStart := time.Now()
	tools, err := toolchain.Ensure(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "toolchain:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "toolchain.Ensure: %s\n", time.Since(ensureStart).Round(100*time.Microsecond))
	start := time.Now()
	cluster, err = Start(ctx, Options{
		Full:      true,
		Tools:     &tools,
		Manifests: []string{"testdata/manifests.yaml"},
		Progress:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "full cluster start: %s (work dir %s)\n", time.Since(start).Round(10*time.Millisecond), cluster.WorkDir)
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	stopStart := time.Now()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		code = 1
	}
	fmt.Fprintf(os.Stderr, "full cluster stop: %s\n", time.Since(stopStart).Round(10*time.Millisecond))
	return code
}

func newClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(cluster.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond every 250ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	start := time.Now()
	if err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, err)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
}

// A Deployment becoming Available needs the deployment and replicaset
// controllers (KCM), the scheduler and kwok's pod stages.
func TestDeploymentBecomesAvailable(t *testing.T) {
	c := newClient(t)
	labels := map[string]string{"app": "pause"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pause", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "pause",
						Image: "registry.k8s.io/pause:3.10",
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							RunAsUser:                ptr.To[int64](65535),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					}},
				},
			},
		},
	}
	if err := c.Create(t.Context(), dep); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "deployment Available", func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err
		}
		for _, cond := range dep.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				return dep.Status.AvailableReplicas == 1, nil
			}
		}
		return false, nil
	})
	var pods corev1.PodList
	if err := c.List(t.Context(), &pods, client.InNamespace("default"), client.MatchingLabels(labels)); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != FakeNodeName {
		t.Errorf("want one pod on %s, got %d pods", FakeNodeName, len(pods.Items))
	}
}

// Deleting a namespace with content needs the namespace controller (and the
// garbage collector for dependents) in KCM.
func TestNamespaceDeletion(t *testing.T) {
	c := newClient(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: ns.Name},
		Data:       map[string]string{"k": "v"},
	}
	if err := c.Create(t.Context(), cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "namespace gone", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(ns), ns)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// The apiserver enforces RBAC: a user without bindings is Forbidden, and the
// ClusterRole from Options.Manifests grants what it says once bound.
func TestRBACEnforced(t *testing.T) {
	admin := newClient(t)
	u, err := cluster.Env.AddUser(envtest.User{Name: "alice"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := client.New(u.Config(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cms corev1.ConfigMapList
	if err := alice.List(t.Context(), &cms, client.InNamespace("default")); !apierrors.IsForbidden(err) {
		t.Fatalf("unbound user listing configmaps: want Forbidden, got %v", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-reader", Namespace: "default"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "localcluster-test-reader"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}},
	}
	if err := admin.Create(t.Context(), rb); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "binding effective", func(ctx context.Context) (bool, error) {
		return alice.List(ctx, &cms, client.InNamespace("default")) == nil, nil
	})
}

// The ValidatingAdmissionPolicy from Options.Manifests is served and enforced.
func TestValidatingAdmissionPolicyEnforced(t *testing.T) {
	c := newClient(t)
	eventually(t, 30*time.Second, "policy rejects", func(ctx context.Context) (bool, error) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "vap-", Namespace: "default", Labels: map[string]string{"forbidden": "yes"},
		}}
		err := c.Create(ctx, cm, client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "configmaps labelled forbidden are rejected"), nil
	})
}

// The apiserver reports a real version (toolchain stamps it at link time).
func TestServerVersion(t *testing.T) {
	dc, err := discovery.NewDiscoveryClientForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(v.GitVersion, "v0.0.0") || v.Major != "1" {
		t.Errorf("unstamped server version %+v", v)
	}
}

// PodSecurity admission is active: a restricted namespace rejects a pod
// without a hardened securityContext.
func TestPodSecurityEnforced(t *testing.T) {
	c := newClient(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "restricted",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "lax", Namespace: ns.Name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
	}
	err := c.Create(t.Context(), pod, client.DryRunAll)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "PodSecurity") {
		t.Fatalf("want PodSecurity rejection, got %v", err)
	}
}

// A failed start (here: a missing CRD path, after the apiserver is up) stops
// what it started, keeps the work dir for its logs, and says where it is.
func TestStartFailureCleansUp(t *testing.T) {
	parent := t.TempDir()
	tools, err := toolchain.Ensure(t.Context(), nil, toolchain.Kubernetes, toolchain.Etcd)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(t.Context(), Options{
		CRDDirectoryPaths: []string{"testdata/no-such-dir"},
		Tools:             &tools,
		WorkDir:           parent,
	})
	if err == nil {
		_ = c.Stop()
		t.Fatal("want error for missing CRD path")
	}
	if !strings.Contains(err.Error(), parent) {
		t.Errorf("error does not name the work dir: %v", err)
	}
	logs, _ := filepath.Glob(filepath.Join(parent, "localcluster-*", "kube-apiserver.log"))
	if len(logs) != 1 {
		t.Fatalf("want the apiserver log kept, found %v", logs)
	}
	// The apiserver no longer listens where it logged it served.
	b, _ := os.ReadFile(logs[0])
	m := regexp.MustCompile(`Serving securely on (127\.0\.0\.1:\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("apiserver never served; log:\n%s", logTail(logs[0], 20))
	}
	if conn, err := net.DialTimeout("tcp", string(m[1]), time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("apiserver still listening on %s after failed start", m[1])
	}
}
