package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/handson-dev/rotation-operator/internal/embedded"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
)

// Identities. Both are ServiceAccount-like certificate users, so API
// priority and fairness classifies them as an in-cluster operator
// (workload-low), and both hold the operator's own ClusterRole: the raw
// ceiling runs with the same rights and the same apiserver treatment.
const (
	operatorUser = "system:serviceaccount:rotation-system:rotation-operator"
	rawUser      = "system:serviceaccount:rotation-system:raw-client"
)

// env is a fresh control plane with the operator's CRDs, roles and identities.
type env struct {
	cluster *localcluster.Cluster
	admin   client.Client
	// operatorKubeconfig is the operator's identity, for the subprocess.
	operatorKubeconfig string
	// raw is the raw client's identity.
	raw *rest.Config
}

// startEnv starts etcd, kube-apiserver and kube-controller-manager (quota
// status, garbage collection, Deployments): no scheduler and no fake
// kubelet, so starter pods stay Pending and cost nothing more.
func startEnv(ctx context.Context, root string, progress io.Writer) (*env, error) {
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		Manifests:         append(embedded.InstallManifests(root), filepath.Join(root, "config", "rbac", "role.yaml")),
		ControllerManager: true,
		Progress:          progress,
	})
	if err != nil {
		return nil, err
	}
	e := &env{cluster: cluster}
	if err := e.setup(ctx); err != nil {
		_ = cluster.Stop()
		return nil, err
	}
	return e, nil
}

func (e *env) setup(ctx context.Context) error {
	var err error
	if e.admin, err = client.New(e.cluster.Config, client.Options{Scheme: operator.Scheme()}); err != nil {
		return err
	}
	// The raw client also creates the starter Deployments, which the
	// operator does as the learner.
	extra := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "rotation-bench-raw"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create"}}},
	}
	if err := e.admin.Create(ctx, extra); err != nil {
		return err
	}
	for user, roles := range map[string][]string{operatorUser: {"rotation-operator"}, rawUser: {"rotation-operator", "rotation-bench-raw"}} {
		for _, role := range roles {
			if err := e.admin.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "rotation-bench-"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
			}); err != nil {
				return err
			}
		}
	}
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:rotation-system"}
	op, err := e.cluster.Env.AddUser(envtest.User{Name: operatorUser, Groups: groups}, nil)
	if err != nil {
		return err
	}
	e.operatorKubeconfig = filepath.Join(e.cluster.WorkDir, "operator.kubeconfig")
	if err := writeKubeconfig(e.operatorKubeconfig, op.Config()); err != nil {
		return err
	}
	raw, err := e.cluster.Env.AddUser(envtest.User{Name: rawUser, Groups: groups}, nil)
	if err != nil {
		return err
	}
	e.raw = raw.Config()
	return nil
}

func (e *env) stop() { _ = e.cluster.Stop() }

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
