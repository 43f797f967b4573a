package install_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/internal/toolchain"
)

// The names config/ and the chart give the operator's objects.
const (
	operatorNamespace  = "rotation-system"
	operatorDeployment = "rotation-operator"
	// registryNodePort is config/registry's, and the chart's default.
	registryNodePort = 30500
)

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := toolchain.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// registryHost is make deploy's default REGISTRY_HOST: the node's
// InternalIP at the registry's NodePort.
func registryHost(t testing.TB) string {
	t.Helper()
	node, err := clientset(t).CoreV1().Nodes().Get(context.Background(), localcluster.RealNodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return net.JoinHostPort(a.Address, fmt.Sprint(registryNodePort))
		}
	}
	t.Fatalf("node %s has no InternalIP: %v", node.Name, node.Status.Addresses)
	return ""
}

func clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kubectl runs kubectl as the cluster admin.
func kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func kubectlErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", cluster.KubeconfigPath}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// registryVolume is what the cluster admin provides for the registry's
// claim when the cluster has no default StorageClass (this one has none):
// a PersistentVolume, here a folder of the node writable by the
// registry's user.
func registryVolume(t testing.TB) {
	t.Helper()
	dir := filepath.Join(cluster.WorkDir, "registry-volume")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, labimages.UID, labimages.GID); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pvs := clientset(t).CoreV1().PersistentVolumes()
	_ = pvs.Delete(ctx, "lab-registry-e2e", metav1.DeleteOptions{})
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		_, err := pvs.Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "lab-registry-e2e"},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
				ClaimRef:                      &corev1.ObjectReference{Namespace: operatorNamespace, Name: "lab-registry"},
			},
		}, metav1.CreateOptions{})
		return err
	})
	t.Cleanup(func() { _ = pvs.Delete(context.Background(), "lab-registry-e2e", metav1.DeleteOptions{}) })
}

// trustRegistry is what the cluster admin does on every node: containerd
// trusts the registry's CA for its host (hosts.toml under the node's
// config_path, /etc/containerd/certs.d on a usual node).
func trustRegistry(t testing.TB, host string) {
	t.Helper()
	var ca []byte
	testutil.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
		s, err := clientset(t).CoreV1().Secrets(operatorNamespace).Get(ctx, registry.CASecret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ca = s.Data["ca.crt"]
		return nil
	})
	// internal/localcluster/realnode_config.go: config_path = <node dir>/certs.d
	dir := filepath.Join(cluster.WorkDir, "node", "certs.d", host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  ca = %q\n", "https://"+host, "https://"+host, filepath.Join(dir, "ca.crt"))
	if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitAvailable waits until the Deployment has replicas ready pods of its
// latest template.
func waitAvailable(t testing.TB, name string, replicas int32, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, func(ctx context.Context) error {
		d, err := clientset(t).AppsV1().Deployments(operatorNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != replicas || d.Status.ReadyReplicas != replicas || d.Status.Replicas != replicas {
			return fmt.Errorf("deployment %s: %d/%d ready, %d updated, %d in all: %s", name, d.Status.ReadyReplicas, replicas, d.Status.UpdatedReplicas, d.Status.Replicas, podStates(t, d))
		}
		return nil
	})
}

// podStates describes the Deployment's pods, for a failure message.
func podStates(t testing.TB, d *appsv1.Deployment) string {
	pods, err := clientset(t).CoreV1().Pods(d.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "%s %s", p.Name, p.Status.Phase)
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			switch {
			case cs.State.Waiting != nil:
				fmt.Fprintf(&b, " %s:%s(%s)", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil:
				fmt.Fprintf(&b, " %s:exited %d(%s)", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Message)
			default:
				fmt.Fprintf(&b, " %s:restarts=%d", cs.Name, cs.RestartCount)
			}
			// A crash loop: the last crash's log tail (FallbackToLogsOnError).
			if last := cs.LastTerminationState.Terminated; last != nil && cs.State.Terminated == nil {
				fmt.Fprintf(&b, " last exit %d(%s)", last.ExitCode, last.Message)
			}
		}
		b.WriteString("; ")
	}
	return b.String()
}
