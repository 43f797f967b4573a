package faults_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/registry"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// What the cluster admin provides fails: the operator got no registry key
// and its learner apiserver address answers nobody; then its registry does
// not answer, and comes back. The operator keeps provisioning labs, and
// each rotation says what is wrong, as the InfrastructureReady condition
// and a Warning event, until it is fixed.
func TestFaultInfrastructureUnavailable(t *testing.T) {
	closed := freeAddress(t)
	op := startOperator(t, "no-key", operator.Options{
		RegistryProblem: operator.RegistryKeyProblem("/run/lab-registry/key", fmt.Errorf("open /run/lab-registry/key: no such file or directory")),
		LabServer:       "https://" + closed,
	})
	createRotation(t, rotation("infra-a"))
	waitReady(t, "infra-a", 90*time.Second)
	waitInfrastructure(t, "infra-a", metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "no lab registry key", "does not answer")
	if got := eventsOf(t, "infra-a", rotationsv1.ReasonRegistryUnavailable); len(got) != 1 || !strings.Contains(got[0], "--learner-api-server") {
		t.Errorf("RegistryUnavailable events %v, want one naming both problems", got)
	}
	if err := op.Stop(); err != nil {
		t.Fatal(err)
	}

	// A registry that does not answer, then does.
	key := make([]byte, registry.KeySize)
	startOperator(t, "registry-down", operator.Options{
		Registry:            &registry.Config{Host: closed, Insecure: true, Key: key},
		InfrastructureCheck: 200 * time.Millisecond,
		GradingInterval:     time.Second, // rotations read the probe's result in their passes
	})
	createRotation(t, rotation("infra-b"))
	waitReady(t, "infra-b", 90*time.Second)
	waitInfrastructure(t, "infra-b", metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "the lab registry does not answer")
	down := time.Now()
	l, err := net.Listen("tcp", closed)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	waitInfrastructure(t, "infra-b", metav1.ConditionTrue, rotationsv1.ReasonInfrastructureReady, "gone")
	converged(t, "registry-back", time.Since(down))
	if got := eventsOf(t, "infra-b", rotationsv1.ReasonInfrastructureReady); len(got) != 1 {
		t.Errorf("InfrastructureReady events %v, want one", got)
	}
}

// waitInfrastructure waits for the rotation's InfrastructureReady
// condition to have status and reason, with every part in its message.
func waitInfrastructure(t *testing.T, name string, status metav1.ConditionStatus, reason string, parts ...string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		lr := &rotationsv1.LearningRotation{}
		if err := admin.Get(ctx, client.ObjectKey{Name: name}, lr); err != nil {
			return err
		}
		c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionInfrastructureReady)
		if c == nil || c.Status != status || c.Reason != reason {
			return fmt.Errorf("InfrastructureReady = %+v, want %s/%s", c, status, reason)
		}
		for _, p := range parts {
			if !strings.Contains(c.Message, p) {
				return fmt.Errorf("InfrastructureReady message %q lacks %q", c.Message, p)
			}
		}
		return nil
	})
}

// freeAddress is a loopback address nothing listens on (until the test
// listens there).
func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
