package faults_test

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/internal/testutil"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// Two replicas with leader election. The standby makes no writes but to
// the Lease while the leader lives (it reconciles nothing); the leader is
// killed without releasing the Lease; the standby takes over once the
// lease expires and reconciles what changed meanwhile.
func TestFaultLeaderFailover(t *testing.T) {
	const (
		lease = 4 * time.Second
		renew = 3 * time.Second
		retry = 500 * time.Millisecond
	)
	opts := operator.Options{
		LeaderElection: true, LeaderElectionNamespace: harness.OperatorNamespace,
		LeaseDuration: lease, RenewDeadline: renew, RetryPeriod: retry,
	}
	killA := harness.NewKillSwitch(-1)
	a := startOperator(t, "replica-a", opts, killA.Fault)
	waitElected(t, a, 30*time.Second)
	b := startOperator(t, "replica-b", opts)

	createRotation(t, rotation("leader-a"))
	lrA, _ := waitReady(t, "leader-a", 90*time.Second)
	if err := a.Writes.WaitQuiet(2*time.Second, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if b.Elected() {
		t.Fatal("both replicas are leaders")
	}
	for _, w := range b.Writes.Writes() {
		if !w.IsLease() {
			t.Errorf("the standby wrote while not leader: %s", w)
		}
	}
	want := inventory(t, lrA)

	killA.Kill()
	killed := time.Now()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	waitElected(t, b, lease+30*time.Second)
	takeover := time.Since(killed)
	t.Logf("standby elected %s after the leader was killed (lease %s, retry %s)", takeover.Round(time.Millisecond), lease, retry)
	// The standby sees the lease expire LeaseDuration after it last saw it
	// renewed, and tries every RetryPeriod; the rest is slack for a busy machine.
	if limit := lease + 2*retry + 3*time.Second; takeover > limit {
		t.Errorf("takeover took %s, over %s", takeover.Round(time.Millisecond), limit)
	}

	addMentor(t, "leader-a", "after-failover@example.com")
	createRotation(t, rotation("leader-b"))
	testutil.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		return mentorBound(ctx, "leader-a", "after-failover@example.com")
	})
	waitReady(t, "leader-a", 60*time.Second)
	lrB, _ := waitReady(t, "leader-b", 60*time.Second)
	converged(t, "leader-failover", time.Since(killed))
	if got := inventory(t, lrB); !maps.Equal(got, want) {
		t.Errorf("lab provisioned by the new leader %v, want %v", got, want)
	}
	inventory(t, lrA)

	// No double writes: the old leader wrote nothing after it was killed,
	// and the new one wrote nothing but the Lease until it held it.
	for _, w := range a.Writes.Writes() {
		if w.At.After(killed) {
			t.Errorf("the killed leader wrote after it died: %s", w)
		}
	}
	var acquired time.Time
	for _, w := range b.Writes.Writes() {
		if w.IsLease() && (w.Code == http.StatusOK || w.Code == http.StatusCreated) && acquired.IsZero() {
			acquired = w.At
		}
		if !w.IsLease() && (acquired.IsZero() || w.At.Before(acquired)) {
			t.Errorf("the standby wrote before it acquired the Lease: %s", w)
		}
	}
	if acquired.IsZero() {
		t.Error("the new leader never wrote the Lease")
	}
}

func waitElected(t *testing.T, op *harness.Operator, timeout time.Duration) {
	t.Helper()
	select {
	case <-op.Manager.Elected():
	case <-time.After(timeout):
		t.Fatalf("operator %s not elected within %s", op.Name, timeout)
	}
}
