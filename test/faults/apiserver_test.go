package faults_test

import (
	"context"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// kube-apiserver is killed for a few seconds and started again on the same
// address (etcd keeps the data). The operator's watches reconnect: a spec
// change and a new rotation made after the restart are reconciled.
func TestFaultAPIServerRestart(t *testing.T) {
	startOperator(t, "survivor", operator.Options{})
	createRotation(t, rotation("restart-a"))
	waitReady(t, "restart-a", 90*time.Second)

	stopped := time.Now()
	down := true
	t.Cleanup(func() {
		if down { // the test failed half-way: leave a working apiserver for the next tests
			_ = cluster.StartAPIServer()
		}
	})
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver killed in %s", time.Since(stopped).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // the operator's requests and watches fail meanwhile
	restarted := time.Now()
	if err := cluster.StartAPIServer(); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
	down = false
	t.Logf("kube-apiserver down for %s, healthy again after %s", restarted.Sub(stopped).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))

	up := time.Now()
	addMentor(t, "restart-a", "after-restart@example.com")
	createRotation(t, rotation("restart-b"))
	testutil.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		return mentorBound(ctx, "restart-a", "after-restart@example.com")
	})
	waitReady(t, "restart-a", 60*time.Second)
	waitReady(t, "restart-b", 60*time.Second)
	converged(t, "apiserver-restart", time.Since(up))
	for _, name := range []string{"restart-a", "restart-b"} {
		lr, _ := waitReady(t, name, time.Second)
		inventory(t, lr)
	}
}
