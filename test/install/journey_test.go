package install_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

func admin(t testing.TB) client.Client {
	t.Helper()
	c, err := client.New(cluster.Config, client.Options{Scheme: operator.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// learner is a lab as its learner sees it: the lab kubeconfig and kubectl.
type learner struct {
	t          *testing.T
	rotation   string
	ns         string
	kubeconfig string
}

// applyRotation creates a rotation (not waiting for it).
func applyRotation(t *testing.T, name string, exercises ...string) *rotationsv1.LearningRotation {
	t.Helper()
	lr := testutil.Rotation(name).Learner(name + "@example.com").Exercises(exercises...).Obj()
	if err := admin(t).Create(context.Background(), lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

// waitLearner waits until the rotation is Ready and returns its learner,
// with the issued kubeconfig written to a file.
func waitLearner(t *testing.T, name string, timeout time.Duration) *learner {
	t.Helper()
	c := admin(t)
	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, timeout, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) || lr.Status.Kubeconfig == nil {
			return fmt.Errorf("not Ready: %+v", lr.Status.Conditions)
		}
		return nil
	})
	var s corev1.Secret
	ref := lr.Status.Kubeconfig.SecretRef
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, s.Data[lab.KubeconfigKey], 0o600); err != nil {
		t.Fatal(err)
	}
	return &learner{t: t, rotation: name, ns: lab.Namespace(name), kubeconfig: path}
}

func (l *learner) kubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", l.kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *learner) must(args ...string) string {
	l.t.Helper()
	out, err := l.kubectl("", args...)
	if err != nil {
		l.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (l *learner) apply(yaml string) {
	l.t.Helper()
	if out, err := l.kubectl(yaml, "apply", "-f", "-"); err != nil {
		l.t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, yaml)
	}
}

func (l *learner) waitExercise(name string, state rotationsv1.ExerciseState, timeout time.Duration) {
	l.t.Helper()
	testutil.Eventually(l.t, timeout, func(ctx context.Context) error {
		var lr rotationsv1.LearningRotation
		if err := admin(l.t).Get(ctx, client.ObjectKey{Name: l.rotation}, &lr); err != nil {
			return err
		}
		for _, e := range lr.Status.Exercises {
			if e.Name == name {
				if e.State != state {
					return fmt.Errorf("%s is %s, want %s: %+v", name, e.State, state, e.Checks)
				}
				return nil
			}
		}
		return fmt.Errorf("no result for %s yet", name)
	})
}

// kubectlExercise: the learner solves scale-and-expose with kubectl
// against the starter's real pods, and the operator grades it passed.
func (l *learner) kubectlExercise() {
	l.t.Helper()
	l.must("rollout", "status", "deployment/web", "--timeout=120s")
	l.must("scale", "deployment/web", "--replicas=3")
	l.must("expose", "deployment/web", "--port=80", "--target-port=8080")
	l.must("rollout", "status", "deployment/web", "--timeout=120s")
	l.waitExercise("scale-and-expose", rotationsv1.ExercisePassed, 2*time.Minute)
}

// dockerPush: the learner pushes an image to the in-cluster registry with
// the lab's credentials (read from the lab's pull secret, as docker login
// would use them), trusting the registry's CA as a learner's docker does;
// the kubelet pulls it through containerd's hosts.toml trust and runs it.
func (l *learner) dockerPush(host string) {
	l.t.Helper()
	out := l.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}")
	user, pass := dockerConfigAuth(l.t, out, host)
	s, err := clientset(l.t).CoreV1().Secrets(operatorNamespace).Get(context.Background(), registry.CASecret, metav1.GetOptions{})
	if err != nil {
		l.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.Data["ca.crt"])
	imgs, err := labimages.Build(context.Background(), labimages.Options{})
	if err != nil {
		l.t.Fatal(err)
	}
	var web labimages.Image
	for _, i := range imgs {
		if i.Ref == labimages.Web11 {
			web = i
		}
	}
	cfg := registry.Config{Host: host}
	ref, err := name.ParseReference(cfg.Repository(l.ns, "hello") + ":v1")
	if err != nil {
		l.t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	testutil.Eventually(l.t, time.Minute, func(ctx context.Context) error {
		return remote.Write(ref, web.Image, remote.WithContext(ctx), remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	})
	l.apply(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      imagePullSecrets: [{name: %[2]s}]
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: %[1]s
        readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 1}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
        resources: {requests: {cpu: 10m, memory: 32Mi}, limits: {cpu: 100m, memory: 64Mi}}
`, ref.String(), lab.RegistrySecret))
	if out, err := l.kubectl("", "rollout", "status", "deployment/hello", "--timeout=120s"); err != nil {
		pods, _ := l.kubectl("", "describe", "pods", "-l", "app=hello")
		l.t.Fatalf("the pushed image does not run: %v\n%s\n%s", err, out, pods)
	}
	testutil.Eventually(l.t, 30*time.Second, func(context.Context) error {
		out, err := l.kubectl("", "exec", "deploy/hello", "--", "/web", "get", "http://127.0.0.1:8080/")
		if err != nil || !strings.Contains(out, "web 1.1") {
			return fmt.Errorf("exec: %w %q", err, out)
		}
		return nil
	})
}

func dockerConfigAuth(t testing.TB, b64, host string) (string, string) {
	t.Helper()
	var cfg struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	a, ok := cfg.Auths[host]
	if !ok || a.Username == "" {
		t.Fatalf("no credentials for %s in the lab's registry secret: %s", host, raw)
	}
	return a.Username, a.Password
}

// assertInfrastructureReady: no rotation reports a problem of the
// registry or the learner apiserver address (the InfrastructureReady
// condition is set once one is seen): the operator's probes find both from
// its pod as the install left them.
func assertInfrastructureReady(t testing.TB) {
	t.Helper()
	var list rotationsv1.LearningRotationList
	if err := admin(t).List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	for _, lr := range list.Items {
		if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionInfrastructureReady); c != nil {
			t.Errorf("rotation %s: InfrastructureReady %s/%s: %s", lr.Name, c.Status, c.Reason, c.Message)
		}
	}
}
