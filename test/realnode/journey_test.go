package realnode_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/labimages"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// learner is a lab as its learner sees it: the lab kubeconfig and kubectl.
type learner struct {
	t          *testing.T
	rotation   string
	ns         string
	kubeconfig string
}

// provision applies a rotation and returns its learner once the lab is
// Ready, with the issued kubeconfig written to a file.
func provision(t *testing.T, name string, exercises ...string) *learner {
	t.Helper()
	ctx := context.Background()
	lr := testutil.Rotation(name).Learner(name + "@example.com").Exercises(exercises...).Obj()
	if err := admin.Create(ctx, lr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), lr) })
	testutil.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(lr), lr); err != nil {
			return err
		}
		if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) || lr.Status.Kubeconfig == nil {
			return fmt.Errorf("not Ready: %+v", lr.Status.Conditions)
		}
		return nil
	})
	var s corev1.Secret
	ref := lr.Status.Kubeconfig.SecretRef
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, s.Data[lab.KubeconfigKey], 0o600); err != nil {
		t.Fatal(err)
	}
	return &learner{t: t, rotation: name, ns: lab.Namespace(name), kubeconfig: path}
}

// kubectl runs kubectl as the learner, in the lab namespace (the
// kubeconfig's default).
func (l *learner) kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", l.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *learner) must(args ...string) string {
	l.t.Helper()
	out, err := l.kubectl(args...)
	if err != nil {
		l.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// execUntil runs `kubectl exec` in a Deployment as the learner until its
// output contains want: right after a rollout, exec may pick a pod whose
// container the kubelet is still settling.
func (l *learner) execUntil(want string, deploy string, cmd ...string) {
	l.t.Helper()
	testutil.Eventually(l.t, 30*time.Second, func(context.Context) error {
		out, err := l.kubectl(append([]string{"exec", "deploy/" + deploy, "--"}, cmd...)...)
		if err != nil || !strings.Contains(out, want) {
			return fmt.Errorf("exec in %s: %w %q, want %q", deploy, err, out, want)
		}
		return nil
	})
}

// apply applies YAML as the learner.
func (l *learner) apply(yaml string) {
	l.t.Helper()
	cmd := exec.Command("kubectl", "--kubeconfig", l.kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(yaml)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, yaml)
	}
}

// exercise returns the rotation's result for one exercise.
func (l *learner) exercise(ctx context.Context, name string) (rotationsv1.ExerciseResult, error) {
	var lr rotationsv1.LearningRotation
	if err := admin.Get(ctx, client.ObjectKey{Name: l.rotation}, &lr); err != nil {
		return rotationsv1.ExerciseResult{}, err
	}
	for _, e := range lr.Status.Exercises {
		if e.Name == name {
			return e, nil
		}
	}
	return rotationsv1.ExerciseResult{}, fmt.Errorf("no result for %s yet", name)
}

func (l *learner) waitExercise(name string, state rotationsv1.ExerciseState) {
	l.t.Helper()
	testutil.Eventually(l.t, 2*time.Minute, func(ctx context.Context) error {
		e, err := l.exercise(ctx, name)
		if err != nil {
			return err
		}
		if e.State != state {
			return fmt.Errorf("%s is %s, want %s: %+v", name, e.State, state, e.Checks)
		}
		return nil
	})
}

// podsWaitingReason is the waiting reason of the first container of the
// pods labelled app=<app>, as the learner reads it.
func (l *learner) podsWaitingReason(app string) string {
	out, _ := l.kubectl("get", "pods", "-l", "app="+app, "-o", "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}")
	return out
}

// TestLearnerJourneyOnRealPods: the starters' containers run; the learner
// reads logs, execs and port-forwards with only the lab kubeconfig;
// fix-broken-deployment's broken tag really fails to pull until fixed,
// and both kubernetes exercises pass from what the containers really do.
func TestLearnerJourneyOnRealPods(t *testing.T) {
	l := provision(t, "journey", "scale-and-expose", "fix-broken-deployment")

	// The starter web becomes Available because its container runs and
	// answers its readiness probe.
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	if out := l.must("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.containerStatuses[*].state.running.startedAt}"); strings.TrimSpace(out) == "" {
		t.Fatalf("web's containers do not run: %q", out)
	}
	// On the real node, run by containerd (kwok reports no container IDs).
	out := l.must("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].spec.nodeName} {.items[0].status.containerStatuses[0].containerID}")
	if !strings.HasPrefix(out, localcluster.RealNodeName+" containerd://") {
		t.Fatalf("web's pod is not a containerd container on the real node: %q", out)
	}

	// logs, exec and port-forward, as the learner.
	l.execUntil("web 1.0", "web", "/web", "get", "http://127.0.0.1:8080/")
	testutil.Eventually(t, 30*time.Second, func(context.Context) error {
		out, err := l.kubectl("logs", "deploy/web")
		if err != nil || !strings.Contains(out, "GET /") {
			return fmt.Errorf("logs %w: %q", err, out)
		}
		return nil
	})
	l.must("scale", "deployment/web", "--replicas=3")
	l.must("expose", "deployment/web", "--port=80", "--target-port=8080")
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	port := freePort(t)
	pf := exec.Command("kubectl", "--kubeconfig", l.kubeconfig, "port-forward", "svc/web", fmt.Sprintf("%d:80", port))
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pf.Process.Kill(); _ = pf.Wait() }()
	testutil.Eventually(t, 30*time.Second, func(context.Context) error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "web 1.0") {
			return fmt.Errorf("%d %q", resp.StatusCode, b)
		}
		return nil
	})
	l.waitExercise("scale-and-expose", rotationsv1.ExercisePassed)

	// The broken tag does not exist anywhere: the kubelet fails to pull it,
	// and the rollout check fails on the real state.
	testutil.Eventually(t, 60*time.Second, func(context.Context) error {
		if r := l.podsWaitingReason("api"); !strings.Contains(r, "ErrImagePull") && !strings.Contains(r, "ImagePullBackOff") {
			return fmt.Errorf("api's pod waits for %q", r)
		}
		return nil
	})
	testutil.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		e, err := l.exercise(ctx, "fix-broken-deployment")
		if err != nil {
			return err
		}
		for _, c := range e.Checks {
			if c.Name == "rollout-available" && !c.Passed {
				return nil
			}
		}
		return fmt.Errorf("rollout-available not failing: %+v", e.Checks)
	})
	// The learner's fix, as the instructions teach it.
	l.must("set", "image", "deployment/api", "api="+labimages.Web10)
	l.must("set", "resources", "deployment/api", "--requests=cpu=50m,memory=64Mi", "--limits=cpu=200m,memory=128Mi")
	l.must("patch", "deployment/api", "--type=json", "-p",
		`[{"op":"add","path":"/spec/template/spec/containers/0/readinessProbe","value":{"httpGet":{"path":"/readyz","port":8080},"periodSeconds":1}}]`)
	l.must("rollout", "status", "deployment/api", "--timeout=90s")
	l.waitExercise("fix-broken-deployment", rotationsv1.ExercisePassed)
}

// TestPushedImageRunsAndOtherLabsAreRefused: the learner pushes an image
// with the lab's registry credentials; the kubelet pulls it with the
// lab-registry pull secret and runs it. A pod naming another lab's
// repository cannot pull it.
func TestPushedImageRunsAndOtherLabsAreRefused(t *testing.T) {
	l := provision(t, "pusher")
	other := provision(t, "other")

	imgs, err := labimages.Build(context.Background(), labimages.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var web labimages.Image
	for _, i := range imgs {
		if i.Ref == labimages.Web11 {
			web = i
		}
	}
	// A learner's own image, not byte-identical to rotation.local/web:1.1:
	// containerd 1.6's CRI image cache keys images by config digest, and
	// after the crash test's containerd restart, pulling the same image
	// under this second name lost the rotation.local/web:1.1 name from the
	// cache, so a later pod of web:1.1 tried to pull it from rotation.local.
	cf, err := web.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Labels = map[string]string{"dev.handson.rotation/pushed-by": "realnode-journey"}
	if web.Image, err = mutate.Config(web.Image, *cfg); err != nil {
		t.Fatal(err)
	}
	push := func(lr *learner, repo string) string {
		t.Helper()
		// The learner's own credentials, read from the lab with the lab
		// kubeconfig, as docker login would use them.
		out := lr.must("get", "secret", lab.RegistrySecret, "-o", "jsonpath={.data.\\.dockerconfigjson}")
		user, pass := dockerConfigAuth(t, out, regCfg.Host)
		ref, err := name.ParseReference(regCfg.Repository(lr.ns, repo)+":v1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, web.Image, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		return ref.String()
	}
	mine := push(l, "hello")
	theirs := push(other, "secret-app")

	deployment := func(name, image string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      imagePullSecrets: [{name: %[3]s}]
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: %[2]s
        readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 1}
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`, name, image, lab.RegistrySecret)
	}
	l.apply(deployment("hello", mine))
	l.must("rollout", "status", "deployment/hello", "--timeout=90s")
	l.execUntil("web 1.1", "hello", "/web", "get", "http://127.0.0.1:8080/")

	l.apply(deployment("stolen", theirs))
	testutil.Eventually(t, 60*time.Second, func(context.Context) error {
		if r := l.podsWaitingReason("stolen"); !strings.Contains(r, "ErrImagePull") && !strings.Contains(r, "ImagePullBackOff") {
			return fmt.Errorf("the other lab's image: waiting reason %q", r)
		}
		return nil
	})
	// The event says why, for the learner to read.
	events := l.must("get", "events", "--field-selector", "reason=Failed", "-o", "jsonpath={.items[*].message}")
	if !strings.Contains(events, "secret-app") {
		t.Fatalf("no pull failure event names the image: %q", events)
	}
}

// TestOOMKillIsVisibleToTheLearner: a container over the lab's default
// memory limit (from the LimitRange) is OOMKilled, and the learner sees
// why with kubectl.
func TestOOMKillIsVisibleToTheLearner(t *testing.T) {
	l := provision(t, "oom")
	l.apply(`apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: hog
    image: ` + labimages.Web10 + `
    args: [alloc, 1Gi]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`)
	if limit := l.must("get", "pod", "hog", "-o", "jsonpath={.spec.containers[0].resources.limits.memory}"); limit == "" {
		t.Fatal("the LimitRange gave the pod no memory limit")
	}
	testutil.Eventually(t, 60*time.Second, func(context.Context) error {
		r, _ := l.kubectl("get", "pod", "hog", "-o", "jsonpath={.status.containerStatuses[0].state.terminated.reason}")
		if r != "OOMKilled" {
			return fmt.Errorf("terminated reason %q", r)
		}
		return nil
	})
}

// TestSuspendStopsContainers: suspending the rotation scales the
// learner's Deployments to zero, so their containers really stop; resuming
// starts them again.
func TestSuspendStopsContainers(t *testing.T) {
	l := provision(t, "pause", "scale-and-expose")
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	setSuspend := func(v bool) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
			var lr rotationsv1.LearningRotation
			if err := admin.Get(ctx, client.ObjectKey{Name: l.rotation}, &lr); err != nil {
				return err
			}
			lr.Spec.Suspend = v
			return admin.Update(ctx, &lr)
		})
	}
	setSuspend(true)
	testutil.Eventually(t, 90*time.Second, func(context.Context) error {
		out, err := l.kubectl("get", "pods", "-l", "app=web", "-o", "name")
		if err != nil || strings.TrimSpace(out) != "" {
			return fmt.Errorf("pods still there: %w %q", err, out)
		}
		return nil
	})
	setSuspend(false)
	l.must("rollout", "status", "deployment/web", "--timeout=90s")
	// exec picks one of the Deployment's pods, which may still be settling
	// right after the rollout reports done.
	testutil.Eventually(t, 30*time.Second, func(context.Context) error {
		out, err := l.kubectl("exec", "deploy/web", "--", "/web", "get", "http://127.0.0.1:8080/readyz")
		if err != nil || strings.TrimSpace(out) == "" {
			return fmt.Errorf("web does not answer after resume: %w %s", err, out)
		}
		return nil
	})
}

// dockerConfigAuth reads the user and password for host from a base64
// .dockerconfigjson.
func dockerConfigAuth(t *testing.T, b64, host string) (string, string) {
	t.Helper()
	var cfg struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	raw, err := decodeBase64(b64)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	a, ok := cfg.Auths[host]
	if !ok || a.Username == "" {
		t.Fatalf("no credentials for %s in the lab's registry secret", host)
	}
	return a.Username, a.Password
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s))
}

// TestLabsAreIsolatedOnTheNetwork: the lab's NetworkPolicy, enforced on
// the real node (kube-router), keeps a pod in one lab from reaching a pod
// or a Service in another, while pods inside a lab reach each other.
func TestLabsAreIsolatedOnTheNetwork(t *testing.T) {
	a := provision(t, "neta", "scale-and-expose")
	b := provision(t, "netb", "scale-and-expose")
	for _, l := range []*learner{a, b} {
		l.must("expose", "deployment/web", "--port=80", "--target-port=8080")
		l.must("rollout", "status", "deployment/web", "--timeout=90s")
	}
	podIP := strings.TrimSpace(b.must("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}"))
	svcIP := strings.TrimSpace(b.must("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"))
	// Inside lab B, both answer (once kube-proxy has programmed the
	// Service: until then its ClusterIP routes nowhere useful).
	for _, target := range []string{podIP + ":8080", svcIP + ":80"} {
		testutil.Eventually(t, 30*time.Second, func(context.Context) error {
			out, err := b.kubectl("exec", "deploy/web", "--", "/web", "get", "http://"+target+"/")
			if err != nil || !strings.Contains(out, "web 1.0") {
				return fmt.Errorf("inside the lab, %s: %w %s", target, err, out)
			}
			return nil
		})
	}
	// From lab A, neither: the policy refuses the connection (kube-router
	// programs a new pod's firewall within a fraction of a second).
	for _, target := range []string{podIP + ":8080", svcIP + ":80"} {
		testutil.Eventually(t, 30*time.Second, func(context.Context) error {
			out, err := a.kubectl("exec", "deploy/web", "--", "/web", "get", "http://"+target+"/")
			if err == nil {
				return fmt.Errorf("lab %s reached lab %s at %s: %s", a.ns, b.ns, target, out)
			}
			if !strings.Contains(out, "refused") && !strings.Contains(out, "timeout") {
				return fmt.Errorf("from another lab, %s failed for another reason: %s", target, out)
			}
			return nil
		})
	}
}
