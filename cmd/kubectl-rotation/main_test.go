package main_test

// These tests run the built kubectl-rotation binary against a real
// kube-apiserver (internal/localcluster) with the CRDs, the lab roles and the
// lab guard admission policy installed. Learners and mentors are
// impersonated through their kubeconfigs, so RBAC decides what they may do
// exactly as in a cluster. The operator does not run: where a command waits
// for it, the test plays its part by writing the rotation's status.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

var (
	binary  string
	cluster *localcluster.Cluster
	admin   client.Client
	tmpDir  string
)

// now is the plugin's clock in every test (KUBECTL_ROTATION_NOW).
var now = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

const mentor = "bob@example.com"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard())
	ctx := context.Background()
	var err error
	if tmpDir, err = os.MkdirTemp("", "kubectl-rotation-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)

	binary = filepath.Join(tmpDir, "kubectl-rotation")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building kubectl-rotation:", err)
		return 1
	}

	root, _ := filepath.Abs(filepath.Join("..", ".."))
	cluster, err = localcluster.Start(ctx, localcluster.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		Manifests: []string{
			filepath.Join(root, "config", "rbac", "lab_roles.yaml"),
			filepath.Join(root, "config", "policy", "lab_guard.yaml"),
		},
		Progress: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	if admin, err = client.New(cluster.Config, client.Options{Scheme: plugin.Scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := seed(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "seeding:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 20)
	}
	return code
}

// ---- running the binary ----

type result struct {
	stdout, stderr string
	code           int
}

// kubectlRotation runs the binary with a kubeconfig and the fixed clock.
func kubectlRotation(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env(kubeconfig)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running kubectl-rotation %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errOut.String(), code}
}

func env(kubeconfig string) []string {
	return []string{
		"KUBECONFIG=" + kubeconfig,
		plugin.EnvNow + "=" + now.Format(time.RFC3339),
		"TZ=UTC",
		"NO_COLOR=1",
		"HOME=" + tmpDir,
		"PATH=" + os.Getenv("PATH"),
	}
}

// expect fails the test unless the command exited with code.
func (r result) expect(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func (r result) stderrHas(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr does not contain %q:\n%s", p, r.stderr)
		}
	}
}

func (r result) stdoutHas(t *testing.T, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(r.stdout, p) {
			t.Errorf("stdout does not contain %q:\n%s", p, r.stdout)
		}
	}
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// volatile fields of objects printed as JSON or YAML.
var volatile = regexp.MustCompile(`("?(uid|resourceVersion|creationTimestamp)"?: )("[^"]*"|\S+)`)

func normalize(s string) string { return volatile.ReplaceAllString(s, `${1}"X"`) }

// ---- kubeconfigs: the admin, a mentor and each learner ----

// kubeconfig writes a kubeconfig for the local cluster that impersonates
// user (admin when empty), with namespace as the context's default.
func kubeconfig(t testing.TB, user, namespace string) string {
	cfg, err := clientcmd.LoadFromFile(cluster.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ctx := range cfg.Contexts {
		ctx.Namespace = namespace
	}
	if user != "" {
		for _, ai := range cfg.AuthInfos {
			ai.Impersonate = user
		}
	}
	name := strings.NewReplacer("@", "_", ".", "_").Replace(user+"-"+namespace) + ".kubeconfig"
	path := filepath.Join(tmpDir, name)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func adminKubeconfig(t testing.TB) string { return kubeconfig(t, "", "") }
func mentorKubeconfig(t testing.TB) string {
	return kubeconfig(t, mentor, "")
}

// learnerKubeconfig is what a learner of rotation has: their identity, lab namespace by default.
func learnerKubeconfig(t testing.TB, rotation string) string {
	return kubeconfig(t, learnerOf(rotation), lab.Namespace(rotation))
}

func learnerOf(rotation string) string { return rotation + "@example.com" }

// ---- fixtures ----

func ts(s string) *metav1.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	mt := metav1.NewTime(t)
	return &mt
}

// newRotation creates a rotation with a lab (namespace, RBAC from
// internal/lab) and the given status, as the operator would leave them.
func newRotation(ctx context.Context, name string, labels map[string]string, status rotationsv1.LearningRotationStatus, exercises ...string) (*rotationsv1.LearningRotation, error) {
	lr := &rotationsv1.LearningRotation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: rotationsv1.LearningRotationSpec{
			Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: learnerOf(name)}},
			Mentors: []rotationsv1.Subject{{Kind: rotationsv1.UserKind, Name: mentor}},
		},
	}
	for _, e := range exercises {
		lr.Spec.Exercises.Names = append(lr.Spec.Exercises.Names, rotationsv1.ExerciseName(e))
	}
	if err := admin.Create(ctx, lr); err != nil {
		return nil, err
	}
	for _, obj := range lab.Objects(lr) {
		if err := admin.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("%T %s: %w", obj, obj.GetName(), err)
		}
	}
	lr.Status = status
	if lr.Status.Namespace == "" && status.Phase != "" {
		lr.Status.Namespace = lab.Namespace(name)
	}
	if err := admin.Status().Update(ctx, lr); err != nil {
		return nil, err
	}
	return lr, nil
}

// setStatus changes a rotation's status as the operator would.
func setStatus(t testing.TB, name string, change func(*rotationsv1.LearningRotationStatus)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(context.Background(), client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		change(&lr.Status)
		return admin.Status().Update(context.Background(), lr)
	})
	if err != nil {
		t.Fatalf("updating the status of %s: %v", name, err)
	}
}

func getRotation(t testing.TB, name string) *rotationsv1.LearningRotation {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: name}, lr); err != nil {
		t.Fatal(err)
	}
	return lr
}

func getConfigMap(t testing.TB, namespace, name string) (*corev1.ConfigMap, error) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := admin.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, cm)
	return cm, err
}

// waitFor polls cond (the simulated operator's trigger) for up to 30s.
func waitFor(what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out waiting for %s", what)
}

// condition is a status condition as the operator sets it.
func condition(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: "", LastTransitionTime: *ts("2026-11-01T09:00:00Z")}
}

// Learner-facing Exercises of the catalog the golden rotations use.
func exercises() []*rotationsv1.Exercise {
	ex := func(name string, track rotationsv1.Track, title string, checks []rotationsv1.Check, hints ...rotationsv1.Hint) *rotationsv1.Exercise {
		return &rotationsv1.Exercise{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: rotationsv1.ExerciseSpec{
				Track: track, Title: title, Difficulty: "beginner", EstimatedMinutes: 30,
				Instructions: "# " + title + "\n\nDo the thing.\n",
				Checks:       checks, Hints: hints,
			},
		}
	}
	check := func(name string, points int32, msg string) rotationsv1.Check {
		return rotationsv1.Check{Name: name, Expression: "true", Points: points, Message: msg}
	}
	tfInstr := "# Terraform basics\n\nWrite a `main.tf` that creates a **ConfigMap** named `settings`.\n\n1. Write the configuration.\n2. Submit it: `kubectl rotation submit terraform-basics .`\n"
	tf := ex("terraform-basics", rotationsv1.TrackTerraform, "Terraform basics", []rotationsv1.Check{
		check("init", 10, "terraform init fails."),
		check("configmap-planned", 20, "The plan creates no ConfigMap settings."),
	})
	tf.Spec.Instructions = tfInstr
	return []*rotationsv1.Exercise{
		ex("scale-and-expose", rotationsv1.TrackKubernetes, "Scale and expose a Deployment", []rotationsv1.Check{
			check("three-replicas", 20, "Scale the Deployment web to 3 replicas."),
			check("service", 20, "Expose web with a ClusterIP Service."),
		}, rotationsv1.Hint{Text: "kubectl scale deployment web --replicas=3", AfterFailedAttempts: ptr.To[int32](2)}),
		ex("fix-broken-deployment", rotationsv1.TrackKubernetes, "Fix a broken Deployment", []rotationsv1.Check{
			check("pinned-image", 10, "Pin the image to a tag, not latest."),
			check("readiness-probe", 10, "Add a readiness probe on port 8080."),
			check("resources", 10, "Set CPU and memory requests and limits | both."),
		},
			rotationsv1.Hint{Text: "kubectl describe deployment api shows the image.", AfterFailedAttempts: ptr.To[int32](1)},
			rotationsv1.Hint{Text: "A readinessProbe goes under spec.template.spec.containers[0].", AfterMinutes: ptr.To[int32](180), AfterFailedAttempts: ptr.To[int32](3)},
			rotationsv1.Hint{Text: "kubectl set resources deployment api --requests=cpu=100m,memory=64Mi --limits=cpu=200m,memory=128Mi", AfterMinutes: ptr.To[int32](600)},
		),
		tf,
	}
}

const scaleInstructions = `# Scale and expose a Deployment

The starter Deployment **web** runs one replica. Make it *highly available*
and reachable inside the cluster.

## Steps

1. Scale ` + "`web`" + ` to three replicas.
2. Expose it with a ClusterIP Service on port 80:
   the Service must select the web pods.

- Read the [Service docs](https://kubernetes.io/docs/concepts/services-networking/service/).
- Keep it simple.

` + "```sh\nkubectl scale deployment web --replicas=3\nkubectl expose deployment web --port 80\n```" + `

> Tip: ` + "`kubectl get endpoints web`" + ` shows whether the Service found pods.

---

| check | points |
|---|---|
| three-replicas | 20 |
`

// aliceStatus is the main golden fixture: one passed exercise, one in
// progress with a regression, one graded from a submission that failed.
func aliceStatus() rotationsv1.LearningRotationStatus {
	return rotationsv1.LearningRotationStatus{
		ObservedGeneration: 1,
		Phase:              rotationsv1.PhaseActive,
		Access:             rotationsv1.AccessReadWrite,
		Kubeconfig: &rotationsv1.KubeconfigStatus{
			SecretRef: rotationsv1.SecretKeyReference{Namespace: "lab-alice", Name: lab.KubeconfigSecret, Key: lab.KubeconfigKey},
			ExpiresAt: ts("2026-11-10T18:00:00Z"),
		},
		StartedAt:   ts("2026-11-01T09:00:00Z"),
		Deadline:    ts("2026-11-15T09:00:00Z"),
		HelpRequest: &rotationsv1.HelpRequestStatus{Message: "The web Service has no endpoints |\nand I do not see why.", RequestedAt: *ts("2026-11-10T10:00:00Z")},
		Score:       50, MaxScore: 100, Completed: 1, Total: 3, Progress: "1/3",
		Exercises: []rotationsv1.ExerciseResult{
			{
				Name: "scale-and-expose", Track: rotationsv1.TrackKubernetes, State: rotationsv1.ExercisePassed,
				Points: 40, BestPoints: 40, MaxPoints: 40,
				Checks: []rotationsv1.CheckResult{
					{Name: "three-replicas", Passed: true, Points: 20},
					{Name: "service", Passed: true, Points: 20},
				},
				Attempts: 3, FailedAttempts: 1, StartedAt: ts("2026-11-01T10:00:00Z"), FirstPassedAt: ts("2026-11-01T10:25:00Z"),
				LastGradedAt: ts("2026-11-10T11:00:00Z"), EstimatedMinutes: 20, MinutesToPass: 25,
			},
			{
				Name: "fix-broken-deployment", Track: rotationsv1.TrackKubernetes, State: rotationsv1.ExerciseFailed,
				Points: 10, BestPoints: 20, MaxPoints: 30,
				Checks: []rotationsv1.CheckResult{
					{Name: "pinned-image", Passed: true, Points: 10},
					{Name: "readiness-probe", Passed: false, Points: 0, Message: "Add a readiness probe on port 8080."},
					{Name: "resources", Passed: false, Points: 0, Message: "Set CPU and memory requests and limits | both."},
				},
				Attempts: 5, FailedAttempts: 1, Resets: 1, StartedAt: ts("2026-11-10T11:30:00Z"),
				HintsUnlocked: 1, Hint: "kubectl describe deployment api shows the image.",
			},
			{
				Name: "terraform-basics", Track: rotationsv1.TrackTerraform, State: rotationsv1.ExerciseInProgress,
				Points: 10, BestPoints: 10, MaxPoints: 30,
				Checks: []rotationsv1.CheckResult{
					{Name: "init", Passed: true, Points: 10},
					{Name: "configmap-planned", Passed: false, Message: `The plan creates no ConfigMap settings. <plan> & "apply"`},
				},
				Attempts: 2, FailedAttempts: 2, StartedAt: ts("2026-11-09T09:00:00Z"),
				Submission: &rotationsv1.SubmissionStatus{ConfigMap: "submission-terraform-basics", Digest: "sha256:0123456789abcdef0123", Files: 2, SubmittedAt: ts("2026-11-10T11:00:00Z")},
			},
		},
		Conditions: []metav1.Condition{
			condition(rotationsv1.ConditionReady, metav1.ConditionTrue, rotationsv1.ReasonReady),
			condition(rotationsv1.ConditionHelpRequested, metav1.ConditionTrue, rotationsv1.ReasonHelpRequested),
		},
	}
}

const goldenLabel = "fixture"

// seed creates the catalog and the golden rotations: alice (active, open
// help request), carol (expired, all passed), dave (just created).
func seed(ctx context.Context) error {
	for _, ex := range exercises() {
		if err := admin.Create(ctx, ex); err != nil {
			return err
		}
	}
	gl := map[string]string{goldenLabel: "golden"}
	if _, err := newRotation(ctx, "alice", gl, aliceStatus(), "scale-and-expose", "fix-broken-deployment", "terraform-basics"); err != nil {
		return err
	}
	if err := admin.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: plugin.InstructionsConfigMap("scale-and-expose"), Namespace: "lab-alice", Labels: map[string]string{
			rotationsv1.LabelManagedBy: rotationsv1.ManagedByValue, rotationsv1.LabelExercise: "scale-and-expose"}},
		Data: map[string]string{plugin.InstructionsKey: scaleInstructions, "web.yaml": "apiVersion: apps/v1\nkind: Deployment\n"},
	}); err != nil {
		return err
	}
	if err := admin.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: lab.KubeconfigSecret, Namespace: "lab-alice"},
		Data:       map[string][]byte{lab.KubeconfigKey: []byte("apiVersion: v1\nkind: Config\ncurrent-context: lab-alice\n")},
	}); err != nil {
		return err
	}
	carol := rotationsv1.LearningRotationStatus{
		ObservedGeneration: 1, Phase: rotationsv1.PhaseExpired, Access: rotationsv1.AccessReadOnly,
		StartedAt: ts("2026-10-01T09:00:00Z"), Deadline: ts("2026-10-15T09:00:00Z"),
		HelpRequest: &rotationsv1.HelpRequestStatus{Message: "How do I roll back?", RequestedAt: *ts("2026-10-03T09:00:00Z"), AcknowledgedAt: ts("2026-10-03T09:30:00Z")},
		Score:       40, MaxScore: 40, Completed: 1, Total: 1, Progress: "1/1",
		Exercises: []rotationsv1.ExerciseResult{{
			Name: "scale-and-expose", Track: rotationsv1.TrackKubernetes, State: rotationsv1.ExercisePassed,
			Points: 40, BestPoints: 40, MaxPoints: 40, Attempts: 1,
			Checks: []rotationsv1.CheckResult{{Name: "three-replicas", Passed: true, Points: 20}, {Name: "service", Passed: true, Points: 20}},
		}},
		Conditions: []metav1.Condition{
			condition(rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonDeadlinePassed),
			condition(rotationsv1.ConditionExpired, metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed),
		},
	}
	carol.Conditions[0].Message = "The deadline passed on 2026-10-15; grades are final."
	if _, err := newRotation(ctx, "carol", gl, carol, "scale-and-expose"); err != nil {
		return err
	}
	if _, err := newRotation(ctx, "dave", gl, rotationsv1.LearningRotationStatus{}); err != nil {
		return err
	}
	// The operator side must let mentors annotate their rotations (grade
	// requests, help acknowledgements); until the per-rotation reader role
	// grants patch, the tests grant it here.
	if err := admin.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test:mentor-annotate"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{rotationsv1.GroupVersion.Group}, Resources: []string{"learningrotations"}, Verbs: []string{"get", "watch", "patch"}}},
	}); err != nil {
		return err
	}
	return admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test:mentor-annotate"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "test:mentor-annotate"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: mentor}},
	})
}

// activeRotation is a fresh rotation for a test that changes things.
func activeRotation(t *testing.T, name string, exercises ...string) {
	t.Helper()
	st := rotationsv1.LearningRotationStatus{
		ObservedGeneration: 1, Phase: rotationsv1.PhaseActive, Access: rotationsv1.AccessReadWrite,
		StartedAt: ts("2026-11-01T09:00:00Z"), Deadline: ts("2026-11-15T09:00:00Z"), MaxScore: 40, Total: int32(len(exercises)),
	}
	for _, e := range exercises {
		st.Exercises = append(st.Exercises, rotationsv1.ExerciseResult{
			Name: e, State: rotationsv1.ExerciseNotStarted, MaxPoints: 40,
			Checks: []rotationsv1.CheckResult{
				{Name: "three-replicas", Message: "Scale the Deployment web to 3 replicas."},
				{Name: "service", Message: "Expose web with a ClusterIP Service."},
			},
		})
	}
	if _, err := newRotation(context.Background(), name, nil, st, exercises...); err != nil {
		t.Fatal(err)
	}
}

// ---- tests ----

func TestList(t *testing.T) {
	kc := adminKubeconfig(t)
	r := kubectlRotation(t, kc, "list", "-l", goldenLabel+"=golden").expect(t, 0)
	golden(t, "list", r.stdout)
	r.stderrHas(t, "1 open help request(s)")
	golden(t, "list-wide", kubectlRotation(t, kc, "list", "-l", goldenLabel+"=golden", "-o", "wide").expect(t, 0).stdout)
	golden(t, "list-json", normalize(kubectlRotation(t, kc, "list", "-l", goldenLabel+"=golden", "-o", "json").expect(t, 0).stdout))
	golden(t, "list-name", kubectlRotation(t, kc, "list", "-l", goldenLabel+"=golden", "-o", "name").expect(t, 0).stdout)

	// Nothing matches: a message on stderr, nothing on stdout.
	r = kubectlRotation(t, kc, "list", "-l", "fixture=none").expect(t, 0)
	if r.stdout != "" || !strings.Contains(r.stderr, "No rotations found") {
		t.Errorf("empty list: stdout %q stderr %q", r.stdout, r.stderr)
	}
	// A mentor has no list right: they see exactly the rotations they
	// mentor (read by name), and nobody else's.
	ctx := context.Background()
	const otherMentor = "erin@example.com"
	other := &rotationsv1.LearningRotation{
		ObjectMeta: metav1.ObjectMeta{Name: "list-other-mentor"},
		Spec: rotationsv1.LearningRotationSpec{
			Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: learnerOf("list-other-mentor")}},
			Mentors: []rotationsv1.Subject{{Kind: rotationsv1.UserKind, Name: otherMentor}},
		},
	}
	if err := admin.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, obj := range lab.Objects(other) {
		if err := admin.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	want := kubectlRotation(t, kc, "list", "-l", goldenLabel+"=golden", "-o", "name").expect(t, 0).stdout
	if got := kubectlRotation(t, mentorKubeconfig(t), "list", "-l", goldenLabel+"=golden", "-o", "name").expect(t, 0).stdout; got != want {
		t.Errorf("mentor's list:\n%s\nwant the rotations they mentor:\n%s", got, want)
	}
	if got := kubectlRotation(t, mentorKubeconfig(t), "list", "-o", "name").expect(t, 0).stdout; strings.Contains(got, other.Name) {
		t.Errorf("a mentor's list shows another mentor's rotation:\n%s", got)
	}
	if got := kubectlRotation(t, kubeconfig(t, otherMentor, ""), "list", "-o", "name").expect(t, 0).stdout; got != "learningrotation.rotations.handson.dev/"+other.Name+"\n" {
		t.Errorf("the other mentor's list: %q, want only their rotation", got)
	}
	// Someone who may read no rotation: a clear error, exit 1.
	kubectlRotation(t, kubeconfig(t, "nobody@example.com", ""), "list").expect(t, 1).stderrHas(t, "forbidden", "kubectl rotation status NAME")
	kubectlRotation(t, kc, "list", "-o", "markdown").expect(t, 2)
	kubectlRotation(t, kc, "list", "-l", "a b c").expect(t, 2)
}

func TestStatus(t *testing.T) {
	mentorOut := kubectlRotation(t, mentorKubeconfig(t), "status", "alice").expect(t, 0).stdout
	golden(t, "status-alice", mentorOut)
	// The learner sees the same without naming the rotation.
	learnerOut := kubectlRotation(t, learnerKubeconfig(t, "alice"), "status").expect(t, 0).stdout
	if learnerOut != mentorOut {
		t.Errorf("learner's status differs from the mentor's:\n%s", learnerOut)
	}
	golden(t, "status-carol", kubectlRotation(t, mentorKubeconfig(t), "status", "carol").expect(t, 0).stdout)
	golden(t, "status-dave", kubectlRotation(t, mentorKubeconfig(t), "status", "dave").expect(t, 0).stdout)
	golden(t, "status-alice-yaml", normalize(kubectlRotation(t, mentorKubeconfig(t), "status", "alice", "-o", "yaml").expect(t, 0).stdout))
	golden(t, "status-alice-json", normalize(kubectlRotation(t, mentorKubeconfig(t), "status", "alice", "-o", "json").expect(t, 0).stdout))
	jp := kubectlRotation(t, mentorKubeconfig(t), "status", "alice", "-o", "jsonpath={.status.score}/{.status.maxScore}").expect(t, 0).stdout
	if jp != "50/100" {
		t.Errorf("jsonpath output %q, want 50/100", jp)
	}

	// A learner can read only their own rotation.
	kubectlRotation(t, learnerKubeconfig(t, "alice"), "status", "carol").expect(t, 1).stderrHas(t, "forbidden")
	kubectlRotation(t, adminKubeconfig(t), "status", "nosuch").expect(t, 1).stderrHas(t, `rotation "nosuch" not found`)
	// Two arguments are ROTATION EXERCISE; a third is a usage error, as is
	// no rotation outside a lab namespace.
	kubectlRotation(t, adminKubeconfig(t), "status", "a", "b").expect(t, 1).stderrHas(t, `rotation "a" not found`)
	kubectlRotation(t, adminKubeconfig(t), "status", "a", "b", "c").expect(t, 2)
	kubectlRotation(t, adminKubeconfig(t), "status").expect(t, 2).stderrHas(t, "not a lab namespace")
	// -n picks the lab namespace, like the learner's kubeconfig.
	r := kubectlRotation(t, adminKubeconfig(t), "status", "-n", "lab-alice").expect(t, 0)
	if r.stdout != mentorOut {
		t.Errorf("status -n lab-alice differs from status alice:\n%s", r.stdout)
	}
}

func TestStatusWatch(t *testing.T) {
	activeRotation(t, "watcher", "scale-and-expose")
	cmd := exec.Command(binary, "status", "--watch")
	cmd.Env = env(learnerKubeconfig(t, "watcher"))
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	if err := waitFor("the first status", func() (bool, error) {
		return strings.Contains(out.String(), "✗ three-replicas"), nil
	}); err != nil {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
	// The "operator" grades: the check passes.
	setStatus(t, "watcher", func(s *rotationsv1.LearningRotationStatus) {
		s.Score, s.Completed = 40, 1
		e := &s.Exercises[0]
		e.State, e.Points, e.BestPoints = rotationsv1.ExercisePassed, 40, 40
		e.Checks = passedChecks()
	})
	if err := waitFor("the updated status", func() (bool, error) {
		return strings.Contains(out.String(), "✓ three-replicas"), nil
	}); err != nil {
		t.Fatalf("%v; output:\n%s", err, out.String())
	}
	// A change that does not change the output prints nothing new.
	setStatus(t, "watcher", func(s *rotationsv1.LearningRotationStatus) { s.ObservedGeneration++ })
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("status --watch ended with %v after Ctrl-C; output:\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "Rotation:   watcher"); n != 2 {
		t.Errorf("%d renders, want 2 (initial and the graded one):\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "Score:      40/40") {
		t.Errorf("the second render lacks the new score:\n%s", out.String())
	}
}

func TestReport(t *testing.T) {
	kc := mentorKubeconfig(t)
	golden(t, "report-alice-markdown", kubectlRotation(t, kc, "report", "alice").expect(t, 0).stdout)
	golden(t, "report-alice-json", kubectlRotation(t, kc, "report", "alice", "-o", "json").expect(t, 0).stdout)
	junit := kubectlRotation(t, kc, "report", "alice", "-o", "junit").expect(t, 0).stdout
	golden(t, "report-alice-junit", junit)
	golden(t, "report-dave-junit", kubectlRotation(t, kc, "report", "dave", "-o", "junit").expect(t, 0).stdout)
	checkJUnit(t, junit)
	kubectlRotation(t, kc, "report", "alice", "-o", "xml").expect(t, 2).stderrHas(t, "markdown, json, junit")
	kubectlRotation(t, kc, "report").expect(t, 2)
}

func TestKubeconfig(t *testing.T) {
	kc := mentorKubeconfig(t)
	want := "apiVersion: v1\nkind: Config\ncurrent-context: lab-alice\n"
	r := kubectlRotation(t, kc, "kubeconfig", "alice").expect(t, 0)
	if r.stdout != want {
		t.Errorf("stdout %q, want the Secret's kubeconfig %q", r.stdout, want)
	}
	// -f writes 0600, also over an existing file with wider permissions.
	path := filepath.Join(t.TempDir(), "alice.kubeconfig")
	if err := os.WriteFile(path, []byte("old and longer than the new content, to be truncated...................."), 0o644); err != nil {
		t.Fatal(err)
	}
	r = kubectlRotation(t, kc, "kubeconfig", "alice", "-f", path).expect(t, 0)
	r.stderrHas(t, "wrote the kubeconfig of rotation alice to "+path, "its token expires 2026-11-10 18:00 UTC (in 6h)")
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Fatalf("file content %q (%v), want %q", b, err, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// dave's lab has no kubeconfig yet; carol's learner cannot read alice's.
	kubectlRotation(t, kc, "kubeconfig", "dave").expect(t, 1).stderrHas(t, "has no issued kubeconfig")
	kubectlRotation(t, learnerKubeconfig(t, "carol"), "kubeconfig", "alice").expect(t, 1).stderrHas(t, "forbidden")
	kubectlRotation(t, kc, "kubeconfig").expect(t, 2)
}

func TestInstructions(t *testing.T) {
	kc := learnerKubeconfig(t, "alice")
	golden(t, "instructions-scale-and-expose", kubectlRotation(t, kc, "instructions", "scale-and-expose").expect(t, 0).stdout)
	if r := kubectlRotation(t, kc, "instructions", "scale-and-expose", "--raw").expect(t, 0); r.stdout != scaleInstructions {
		t.Errorf("--raw printed %q", r.stdout)
	}
	if r := kubectlRotation(t, kc, "instructions", "scale-and-expose", "--file", "web.yaml").expect(t, 0); r.stdout != "apiVersion: apps/v1\nkind: Deployment\n" {
		t.Errorf("--file printed %q", r.stdout)
	}
	kubectlRotation(t, kc, "instructions", "scale-and-expose", "--file", "nope").expect(t, 1).stderrHas(t, "its files: web.yaml")
	// No ConfigMap in the lab: the catalog's Exercise.
	golden(t, "instructions-terraform-basics", kubectlRotation(t, kc, "instructions", "terraform-basics", "--width", "40").expect(t, 0).stdout)
	kubectlRotation(t, kc, "instructions", "nosuch").expect(t, 1).stderrHas(t, "no such Exercise")
	kubectlRotation(t, adminKubeconfig(t), "instructions", "scale-and-expose", "--rotation", "alice").expect(t, 0).stdoutHas(t, "Scale and expose a Deployment\n═══")
	kubectlRotation(t, kc, "instructions").expect(t, 2)
}

func TestHint(t *testing.T) {
	kc := learnerKubeconfig(t, "alice")
	golden(t, "hint-fix-broken-deployment", kubectlRotation(t, kc, "hint", "fix-broken-deployment").expect(t, 0).stdout)
	r := kubectlRotation(t, kc, "hint", "scale-and-expose").expect(t, 0)
	r.stdoutHas(t, "No hint unlocked yet for scale-and-expose (1 in all).", "Next hint (1 of 1): after 1 more failed attempt.")
	kubectlRotation(t, kc, "hint", "terraform-basics").expect(t, 0).stdoutHas(t, "Exercise terraform-basics has no hints.")
	kubectlRotation(t, kc, "hint", "nosuch").expect(t, 1).stderrHas(t, "its exercises are: fix-broken-deployment, scale-and-expose, terraform-basics")
}

func TestSubmit(t *testing.T) {
	activeRotation(t, "sub", "terraform-basics")
	kc := learnerKubeconfig(t, "sub")
	ns := lab.Namespace("sub")
	cmName := rotationsv1.SubmissionPrefix + "terraform-basics"
	notUploaded := func() {
		t.Helper()
		if _, err := getConfigMap(t, ns, cmName); !apierrors.IsNotFound(err) {
			t.Fatalf("a bad submission reached the cluster (err %v)", err)
		}
	}
	write := func(dir, name string, content []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	bin := t.TempDir()
	write(bin, "main.tf", []byte(`resource "kubernetes_config_map" "settings" {}`))
	write(bin, "provider.bin", []byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 0xff})
	kubectlRotation(t, kc, "submit", "terraform-basics", bin).expect(t, 1).stderrHas(t, "provider.bin: binary files are not accepted")
	notUploaded()

	big := t.TempDir()
	write(big, "main.tf", bytes.Repeat([]byte("# padding\n"), 7000))
	kubectlRotation(t, kc, "submit", "terraform-basics", big).expect(t, 1).stderrHas(t, "main.tf: too large (70000 bytes; limits 65536 per file")
	notUploaded()
	kubectlRotation(t, kc, "submit", "terraform-basics", filepath.Join(big, "missing")).expect(t, 1)
	notUploaded()

	good := t.TempDir()
	write(good, "main.tf", []byte(`resource "kubernetes_config_map" "settings" {}`+"\n"))
	write(good, "variables.tf", []byte(`variable "name" {}`+"\n"))
	if err := os.MkdirAll(filepath.Join(good, ".terraform"), 0o755); err != nil {
		t.Fatal(err)
	}
	kubectlRotation(t, kc, "submit", "nosuch", good).expect(t, 1).stderrHas(t, `exercise "nosuch" is not in rotation sub; its exercises are: terraform-basics`)
	notUploaded()

	r := kubectlRotation(t, kc, "submit", "terraform-basics", good).expect(t, 0)
	r.stdoutHas(t, "submitted 2 files (sha256:", "as lab-sub/submission-terraform-basics")
	cm, err := getConfigMap(t, ns, cmName)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[rotationsv1.LabelSubmission] != "terraform-basics" || cm.Annotations[rotationsv1.AnnotationSubmittedAt] != "2026-11-10T12:00:00Z" ||
		len(cm.Data) != 2 || cm.Data["variables.tf"] != "variable \"name\" {}\n" {
		t.Errorf("submission ConfigMap: labels %v annotations %v data %v", cm.Labels, cm.Annotations, cm.Data)
	}

	// Handing in again replaces the files: the removed one is gone.
	if err := os.Remove(filepath.Join(good, "variables.tf")); err != nil {
		t.Fatal(err)
	}
	// --wait: the "operator" grades the new submission; its digest is what the command waits for.
	done := make(chan error, 1)
	go func() {
		done <- waitFor("the second submission", func() (bool, error) {
			cm, err := getConfigMap(t, ns, cmName)
			if err != nil || len(cm.Data) != 1 {
				return false, nil
			}
			setStatus(t, "sub", func(s *rotationsv1.LearningRotationStatus) {
				e := &s.Exercises[0]
				e.State = rotationsv1.ExerciseInProgress
				e.Submission = &rotationsv1.SubmissionStatus{ConfigMap: cmName, Digest: digestOf(cm.Data), Files: 1, SubmittedAt: ts("2026-11-10T12:00:00Z")}
			})
			return true, nil
		})
	}()
	r = kubectlRotation(t, kc, "submit", "terraform-basics", good, "--wait", "--timeout", "30s").expect(t, 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.stdoutHas(t, "submitted 1 files", "◐ terraform-basics", "submission: submission-terraform-basics, 1 files")
	cm, _ = getConfigMap(t, ns, cmName)
	if _, ok := cm.Data["variables.tf"]; ok || len(cm.Data) != 1 {
		t.Errorf("resubmission kept a removed file: %v", cm.Data)
	}
	// Nobody grades this one: --wait times out with exit code 3.
	write(good, "outputs.tf", []byte("output \"x\" {}\n"))
	kubectlRotation(t, kc, "submit", "terraform-basics", good, "--wait", "--timeout", "1s").expect(t, 3).stderrHas(t, "timed out after 1s")
	kubectlRotation(t, kc, "submit", "terraform-basics").expect(t, 2)
}

func TestHelpAndAck(t *testing.T) {
	activeRotation(t, "helpme", "scale-and-expose")
	learner := learnerKubeconfig(t, "helpme")
	r := kubectlRotation(t, learner, "help", "my pods stay Pending,", "what is wrong?").expect(t, 0)
	r.stdoutHas(t, "help requested at 2026-11-10 12:00 UTC")
	cm, err := getConfigMap(t, "lab-helpme", rotationsv1.RequestHelpName)
	if err != nil {
		t.Fatal(err)
	}
	if cm.Labels[rotationsv1.LabelRequest] != rotationsv1.RequestHelp ||
		cm.Data[rotationsv1.RequestKeyMessage] != "my pods stay Pending, what is wrong?" ||
		cm.Data[rotationsv1.RequestKeyRequestedAt] != "2026-11-10T12:00:00Z" {
		t.Fatalf("help request ConfigMap: labels %v data %v", cm.Labels, cm.Data)
	}
	// Before the operator saw it there is nothing to acknowledge.
	mentorKC := mentorKubeconfig(t)
	kubectlRotation(t, mentorKC, "ack", "helpme").expect(t, 1).stderrHas(t, "has no help request")
	// The "operator" copies it into the status.
	requested := ts(cm.Data[rotationsv1.RequestKeyRequestedAt])
	setStatus(t, "helpme", func(s *rotationsv1.LearningRotationStatus) {
		s.HelpRequest = &rotationsv1.HelpRequestStatus{Message: cm.Data[rotationsv1.RequestKeyMessage], RequestedAt: *requested}
	})
	// The learner cannot acknowledge their own request.
	kubectlRotation(t, learner, "ack", "helpme").expect(t, 1).stderrHas(t, "forbidden")
	r = kubectlRotation(t, mentorKC, "ack", "helpme").expect(t, 0)
	r.stdoutHas(t, "acknowledged the help request of helpme (asked 2026-11-10 12:00 UTC", "my pods stay Pending, what is wrong?")
	if got := getRotation(t, "helpme").Annotations[rotationsv1.AnnotationHelpAcknowledged]; got != "2026-11-10T12:00:00Z" {
		t.Errorf("annotation %s = %q, want the request's requestedAt", rotationsv1.AnnotationHelpAcknowledged, got)
	}
	setStatus(t, "helpme", func(s *rotationsv1.LearningRotationStatus) { s.HelpRequest.AcknowledgedAt = ts("2026-11-10T12:00:00Z") })
	kubectlRotation(t, mentorKC, "ack", "helpme").expect(t, 1).stderrHas(t, "already acknowledged")

	kubectlRotation(t, learner, "help").expect(t, 2).stderrHas(t, "needs a MESSAGE")
	kubectlRotation(t, learner, "help", "submit").expect(t, 2).stderrHas(t, "kubectl rotation submit --help")
	kubectlRotation(t, learner, "help", strings.Repeat("x", 1025)).expect(t, 2).stderrHas(t, "at most 1024")
	// A mentor cannot write requests into the lab.
	kubectlRotation(t, mentorKC, "help", "-r", "helpme", "hi").expect(t, 1).stderrHas(t, "forbidden")
	kubectlRotation(t, mentorKC, "ack").expect(t, 2)
}

func TestGrade(t *testing.T) {
	t.Run("mentor annotation", func(t *testing.T) {
		activeRotation(t, "grade-m", "scale-and-expose")
		done := operatorEchoes(t, "grade-m", func() (string, error) {
			return getRotation(t, "grade-m").Annotations[rotationsv1.AnnotationGradeRequested], nil
		})
		r := kubectlRotation(t, mentorKubeconfig(t), "grade", "grade-m", "--timeout", "30s").expect(t, 0)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.stderrHas(t, "grading of grade-m requested (annotation rotations.handson.dev/grade-requested)")
		r.stdoutHas(t, "Rotation:   grade-m", "Score:      40/40", "✓ three-replicas")
		if got := getRotation(t, "grade-m").Annotations[rotationsv1.AnnotationGradeRequested]; got != "2026-11-10T12:00:00Z" {
			t.Errorf("grade-requested annotation %q", got)
		}
	})
	t.Run("learner request ConfigMap", func(t *testing.T) {
		activeRotation(t, "grade-l", "scale-and-expose")
		done := operatorEchoes(t, "grade-l", func() (string, error) {
			cm, err := getConfigMap(t, "lab-grade-l", rotationsv1.RequestGradeName)
			if apierrors.IsNotFound(err) {
				return "", nil
			}
			if err != nil {
				return "", err
			}
			if cm.Labels[rotationsv1.LabelRequest] != rotationsv1.RequestGrade {
				return "", fmt.Errorf("grade request ConfigMap labels %v", cm.Labels)
			}
			return cm.Data[rotationsv1.RequestKeyRequestedAt], nil
		})
		r := kubectlRotation(t, learnerKubeconfig(t, "grade-l"), "grade").expect(t, 0)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.stderrHas(t, "(ConfigMap lab-grade-l/rotation-grade)")
		r.stdoutHas(t, "✓ three-replicas")
		if a := getRotation(t, "grade-l").Annotations; a[rotationsv1.AnnotationGradeRequested] != "" {
			t.Errorf("the learner annotated the rotation: %v", a)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		activeRotation(t, "grade-t", "scale-and-expose")
		r := kubectlRotation(t, mentorKubeconfig(t), "grade", "grade-t", "--timeout", "1s").expect(t, 3)
		r.stderrHas(t, `timed out after 1s waiting for the operator to grade grade-t (status.gradeRequest "2026-11-10T12:00:00Z")`)
		kubectlRotation(t, mentorKubeconfig(t), "grade", "grade-t", "--wait=false").expect(t, 0)
	})
	t.Run("expired", func(t *testing.T) {
		r := kubectlRotation(t, mentorKubeconfig(t), "grade", "carol").expect(t, 3)
		r.stderrHas(t, "rotation carol has expired: its grades are final")
		if a := getRotation(t, "carol").Annotations; a[rotationsv1.AnnotationGradeRequested] != "" {
			t.Errorf("an expired rotation was asked to grade: %v", a)
		}
	})
}

// passedChecks are scale-and-expose's checks once they pass.
func passedChecks() []rotationsv1.CheckResult {
	return []rotationsv1.CheckResult{{Name: "three-replicas", Passed: true, Points: 20}, {Name: "service", Passed: true, Points: 20}}
}

// operatorEchoes plays the operator for on-demand grading: once request()
// returns a value, it grades (the check passes) and echoes the value in
// status.gradeRequest.
func operatorEchoes(t *testing.T, name string, request func() (string, error)) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- waitFor("a grade request", func() (bool, error) {
			v, err := request()
			if err != nil || v == "" {
				return false, err
			}
			setStatus(t, name, func(s *rotationsv1.LearningRotationStatus) {
				s.Score, s.Completed, s.GradeRequest = 40, 1, v
				e := &s.Exercises[0]
				e.State, e.Points, e.BestPoints = rotationsv1.ExercisePassed, 40, 40
				e.Checks = passedChecks()
			})
			return true, nil
		})
	}()
	return done
}

func TestReset(t *testing.T) {
	activeRotation(t, "resetme", "scale-and-expose")
	kc := learnerKubeconfig(t, "resetme")
	cmName := rotationsv1.RequestResetPrefix + "scale-and-expose"
	done := make(chan error, 1)
	go func() {
		done <- waitFor("a reset request", func() (bool, error) {
			cm, err := getConfigMap(t, "lab-resetme", cmName)
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if cm.Labels[rotationsv1.LabelRequest] != rotationsv1.RequestReset ||
				cm.Data[rotationsv1.RequestKeyExercise] != "scale-and-expose" ||
				cm.Data[rotationsv1.RequestKeyRequestedAt] != "2026-11-10T12:00:00Z" {
				return false, fmt.Errorf("reset request ConfigMap: labels %v data %v", cm.Labels, cm.Data)
			}
			setStatus(t, "resetme", func(s *rotationsv1.LearningRotationStatus) {
				s.Exercises[0].Resets++
				s.Exercises[0].LastResetAt = ts("2026-11-10T12:00:00Z")
			})
			return true, admin.Delete(context.Background(), cm)
		})
	}()
	r := kubectlRotation(t, kc, "reset", "scale-and-expose", "--timeout", "30s").expect(t, 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.stdoutHas(t, "exercise scale-and-expose was reset (1 reset so far)")
	r.stderrHas(t, "reset of scale-and-expose requested (ConfigMap lab-resetme/rotation-reset-scale-and-expose)")

	kubectlRotation(t, kc, "reset", "scale-and-expose", "--timeout", "1s").expect(t, 3).stderrHas(t, "timed out after 1s waiting for the operator to reset scale-and-expose")
	kubectlRotation(t, kc, "reset", "nosuch").expect(t, 1).stderrHas(t, "its exercises are: scale-and-expose")
	kubectlRotation(t, kc, "reset").expect(t, 2)
	// An expired rotation's lab is read-only.
	kubectlRotation(t, learnerKubeconfig(t, "carol"), "reset", "scale-and-expose").expect(t, 1).stderrHas(t, "learner's access is ReadOnly")
}

func TestUsage(t *testing.T) {
	kc := adminKubeconfig(t)
	kubectlRotation(t, kc, "frobnicate").expect(t, 2).stderrHas(t, `unknown command "frobnicate"`)
	kubectlRotation(t, kc, "list", "--frobnicate").expect(t, 2).stderrHas(t, "unknown flag: --frobnicate")
	kubectlRotation(t, kc, "grade", "alice", "--timeout", "soon").expect(t, 2)
	r := kubectlRotation(t, kc, "--help").expect(t, 0)
	r.stdoutHas(t, "Exit codes: 0 ok, 1 error, 2 usage error, 3")
	// Every command has help with examples.
	for _, c := range []string{"list", "status", "kubeconfig", "instructions", "submit", "grade", "hint", "help", "ack", "reset", "report"} {
		out := kubectlRotation(t, kc, c, "--help").expect(t, 0).stdout
		if !strings.Contains(out, "Examples:\n  kubectl rotation "+c) {
			t.Errorf("%s --help has no example:\n%s", c, out)
		}
	}
}
