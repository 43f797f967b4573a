package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tf "github.com/handson-dev/rotation-operator/internal/grading/facts/terraform"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// BenchmarkTerraformExecutors grades the same terraform-basics submission
// with each executor, side by side in one run, uncached: local (the
// sandboxed subprocess) and job (a runner Job in the lab: create, schedule,
// run, complete, read the log through the apiserver, delete). The ratio is
// what cluster mode costs per grading on top of the run itself.
//
//	go test ./controllers/ -run '^$' -bench TerraformExecutors -benchtime 10x
func BenchmarkTerraformExecutors(b *testing.B) {
	benchRuns++
	name := fmt.Sprintf("tfjob-bench-%d", benchRuns)
	ns := "lab-" + name
	createRotation(b, testutil.Rotation(name).Exercises("terraform-basics").Obj())
	waitReady(b, name)
	ctx := context.Background()

	files := testutil.TerraformSolution(b, "terraform-basics", ns)
	secret := &corev1.Secret{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: lab.KubeconfigSecret}, secret); err != nil {
		b.Fatal(err)
	}
	req := tf.Request{Namespace: ns, Exercise: "terraform-basics", Files: files, Kubeconfig: secret.Data[lab.KubeconfigKey]}

	bin, err := tf.FindTerraform("")
	if err != nil {
		b.Fatal(err)
	}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorUser}
	job, err := runnerJobExecutor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	executors := []struct {
		name string
		ex   tf.Executor
	}{
		{"local", &tf.LocalExecutor{Terraform: bin, Mirror: terraformMirror, Sandbox: tf.SandboxRequired, Log: ctrl.Log.WithName("bench")}},
		{"job", job},
	}
	for _, e := range executors {
		b.Run(e.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// Each run a new state version: a distinct Job name, as a
				// learner's next apply would give.
				r := req
				r.StateVersion = fmt.Sprintf("%s-%d", e.name, i)
				cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
				facts, err := e.ex.Execute(cctx, r)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if facts[tf.FactValid] != true {
					b.Fatalf("facts %v: want a valid configuration", facts)
				}
			}
		})
	}
}
