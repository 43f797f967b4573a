// Package faults_test injects faults into a running operator and asserts
// that labs converge: the operator killed part-way through provisioning,
// conflicts on status writes, an apiserver restart, a leader fail-over, a
// namespace stuck terminating and token expiry. Every test logs one line
//
//	FAULT <name> converged in <duration>
//
// per fault survived, for `go test -v ./test/faults | grep '^ *.*FAULT '`.
//
// The tests run one after another on one control plane; each starts its own
// operator instances (in-process, as the operator's ServiceAccount) and
// stops them before it ends, so an instance sees only its test's rotations
// being provisioned.
package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

var (
	cluster *localcluster.Cluster
	admin   client.Client
)

// exercise is selected by the rotations here: an instructions ConfigMap,
// a starter ConfigMap created as the learner, and a check, so provisioning
// covers every kind of write without Deployments whose rollout would make
// the number of status writes depend on timing.
const exercise = "faults-basic"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// The faults make the operator log errors by design; keep them out
	// of the test output unless asked for.
	level := int(zapcore.DPanicLevel)
	if os.Getenv("TEST_VERBOSE_OPERATOR") != "" {
		level = -1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.Level(level))))
	ctx := context.Background()
	var err error
	cluster, admin, err = harness.StartCluster(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	if err := setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		cluster.DumpLogs(os.Stderr, 40)
		return 1
	}
	code := m.Run()
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	return code
}

// setup creates the test exercise and lets a first operator install the
// built-in catalog and compile every Exercise, so later instances start
// with nothing to write but their test's rotations.
func setup(ctx context.Context) error {
	starter, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "starter-settings"},
		"data":     map[string]any{"mode": "off"},
	})
	ex := &rotationsv1.Exercise{
		ObjectMeta: metav1.ObjectMeta{Name: exercise},
		Spec: rotationsv1.ExerciseSpec{
			Track: rotationsv1.TrackKubernetes, Title: "Turn it on", Instructions: "Set mode to on in ConfigMap starter-settings.",
			Starter: rotationsv1.Starter{Objects: []rotationsv1.StarterObject{{RawExtension: runtime.RawExtension{Raw: starter}}}},
			Checks: []rotationsv1.Check{{Name: "mode-on", Points: 10, Message: "Set data.mode to on.",
				Expression: "kube.configmaps[?'starter-settings'].data.mode.orValue('') == 'on'"}},
		},
	}
	if err := admin.Create(ctx, ex); err != nil {
		return err
	}
	op, err := harness.StartOperator(cluster, "warm-up", operator.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = op.Stop() }()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := exercisesCompiled(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return op.Writes.WaitQuiet(time.Second, time.Minute)
}

func exercisesCompiled(ctx context.Context) error {
	list := &rotationsv1.ExerciseList{}
	if err := admin.List(ctx, list); err != nil {
		return err
	}
	if len(list.Items) < 2 {
		return fmt.Errorf("%d exercises, the catalog is not installed yet", len(list.Items))
	}
	for _, ex := range list.Items {
		if c := meta.FindStatusCondition(ex.Status.Conditions, rotationsv1.ConditionReady); c == nil || c.ObservedGeneration != ex.Generation {
			return fmt.Errorf("exercise %s not compiled yet", ex.Name)
		}
	}
	return nil
}

// rotation is a rotation of the test exercise with one mentor.
func rotation(name string) *rotationsv1.LearningRotation {
	return testutil.Rotation(name).Mentors("mentor@example.com").Exercises(exercise).Obj()
}

// createRotation creates lr and deletes it when the test ends.
func createRotation(t *testing.T, lr *rotationsv1.LearningRotation) {
	t.Helper()
	if err := admin.Create(context.Background(), lr); err != nil {
		t.Fatalf("creating rotation %s: %v", lr.Name, err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), lr) })
}

// readyErr is nil when the rotation is Ready for its current generation.
func readyErr(ctx context.Context, name string, lr *rotationsv1.LearningRotation) error {
	if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
		return err
	}
	if !meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) || lr.Status.ObservedGeneration != lr.Generation {
		return fmt.Errorf("rotation %s not Ready at generation %d (observed %d): %+v", name, lr.Generation, lr.Status.ObservedGeneration, lr.Status.Conditions)
	}
	if lr.Status.Total != 1 || len(lr.Status.Exercises) != 1 || lr.Status.Exercises[0].StarterCreatedAt == nil {
		return fmt.Errorf("rotation %s: exercise not set up yet: %+v", name, lr.Status.Exercises)
	}
	return nil
}

// waitReady waits for the rotation to be Ready and returns it and how long that took.
func waitReady(t *testing.T, name string, timeout time.Duration) (*rotationsv1.LearningRotation, time.Duration) {
	t.Helper()
	start := time.Now()
	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, timeout, func(ctx context.Context) error { return readyErr(ctx, name, lr) })
	return lr, time.Since(start)
}

// startOperator starts an instance and stops it when the test ends.
func startOperator(t *testing.T, name string, o operator.Options, faults ...harness.Fault) *harness.Operator {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clocktesting.NewFakeClock(time.Now())
	}
	op, err := harness.StartOperator(cluster, name, o, faults...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping operator %s: %v", name, err)
		}
	})
	return op
}

// converged logs the parseable line of a survived fault.
func converged(t *testing.T, fault string, d time.Duration) {
	t.Helper()
	t.Logf("FAULT %s converged in %.3fs", fault, d.Seconds())
}

// inventory takes the lab's inventory and fails on ownership problems.
func inventory(t *testing.T, lr *rotationsv1.LearningRotation) map[string]int {
	t.Helper()
	inv, err := harness.TakeInventory(context.Background(), admin, lr)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range inv.Problems {
		t.Errorf("orphan or misowned lab object: %s", p)
	}
	return inv.Counts
}

// addMentor changes the rotation's spec: a new mentor to bind.
func addMentor(t *testing.T, name, mentor string) {
	t.Helper()
	lr := &rotationsv1.LearningRotation{}
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		lr.Spec.Mentors = append(lr.Spec.Mentors, rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: mentor})
		return admin.Update(ctx, lr)
	})
}

// mentorBound is nil once the lab's mentor RoleBinding names mentor.
func mentorBound(ctx context.Context, rotation, mentor string) error {
	rb := &rbacv1.RoleBinding{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: "lab-" + rotation, Name: "mentor"}, rb); err != nil {
		return err
	}
	for _, s := range rb.Subjects {
		if s.Name == mentor {
			return nil
		}
	}
	return fmt.Errorf("mentor %s not bound in lab-%s: %+v", mentor, rotation, rb.Subjects)
}

// namespaceGone is nil once the namespace no longer exists.
func namespaceGone(ctx context.Context, name string) error {
	err := admin.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New("namespace " + name + " still exists")
}
