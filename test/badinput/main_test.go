// Package badinput_test is the bad-input catalogue: every field and file a
// mentor, an exercise author or a learner writes, fed garbage, huge values,
// gzip bombs, deep nesting, unicode and path traversal, against the real
// operator on a real control plane. Each input must get a clear error (an
// admission rejection, a False condition with a Warning event, or a failed
// check with a message) and no crash: the operator's reconcile-panic
// counter stays at zero. The suite samples the memory of the test process,
// in which the operator runs, and prints its peak:
//
//	BADINPUT peak memory: ...
package badinput_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/localcluster"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

var (
	cluster *localcluster.Cluster
	admin   client.Client
	// learner acts as the learner of the rotation "bad", as RBAC sees them.
	learner client.Client
)

const (
	rotationName  = "bad"
	labNamespace  = "lab-bad"
	learnerUser   = "bad@example.com"
	submitEx      = "bad-submit"
	helmEx        = "bad-helm"
	terraformEx   = "bad-tf"
	operatorLevel = zapcore.DPanicLevel // bad inputs make the operator log errors by design
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(operatorLevel)))
	ctx := context.Background()
	var err error
	cluster, admin, err = harness.StartCluster(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()

	mem := harness.SampleMemory(50 * time.Millisecond)
	op, err := harness.StartOperator(cluster, "operator", operator.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := setup(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		cluster.DumpLogs(os.Stderr, 40)
		return 1
	}
	code := m.Run()
	if err := op.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		code = 1
	}
	fmt.Printf("BADINPUT peak memory (operator in-process, with the test client): %s\n", mem.Stop())
	if code != 0 {
		cluster.DumpLogs(os.Stderr, 40)
	}
	return code
}

// setup creates the exercises the learner-side cases are graded by and the
// rotation "bad" selecting them, and waits for it to be Ready.
func setup(ctx context.Context) error {
	for _, y := range []string{submitExerciseYAML, helmExerciseYAML, terraformExerciseYAML} {
		if err := admin.Create(ctx, exerciseYAML(y)); err != nil {
			return err
		}
	}
	lr := testutil.Rotation(rotationName).Learner(learnerUser).Exercises(submitEx, helmEx, terraformEx).Obj()
	if err := admin.Create(ctx, lr); err != nil {
		return err
	}
	var err error
	if learner, err = userClient(learnerUser); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err = admin.Get(ctx, client.ObjectKeyFromObject(lr), lr); err == nil {
			if meta.IsStatusConditionTrue(lr.Status.Conditions, rotationsv1.ConditionReady) && len(lr.Status.Exercises) == 3 {
				return nil
			}
			err = fmt.Errorf("rotation %s not Ready: %+v", lr.Name, lr.Status.Conditions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

const submitExerciseYAML = `
metadata: {name: bad-submit}
spec:
  track: terraform
  title: Hand in a configuration
  instructions: Submit main.tf.
  checks:
  - name: has-resource
    expression: "submission.files[?'main.tf'].orValue('').contains('resource')"
    points: 10
    message: main.tf declares no resource.
`

const helmExerciseYAML = `
metadata: {name: bad-helm}
spec:
  track: helm
  title: Keep releases readable
  instructions: Install anything.
  checks:
  - name: releases-decode
    expression: "helm.releases.all(r, !has(helm.releases[r].error))"
    points: 10
    message: A Helm release in the lab cannot be read.
`

const terraformExerciseYAML = `
metadata: {name: bad-tf}
spec:
  track: terraform
  title: Terraform state
  instructions: Apply a configuration with the kubernetes backend.
  checks:
  - name: lab-exists
    expression: "lab.namespace == 'lab-bad'"
    points: 10
    message: The lab is not lab-bad.
`

// reconcilePanics reads controller-runtime's panic counter for every controller.
func reconcilePanics(t *testing.T) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "controller_runtime_reconcile_panics_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
