package faults_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/operator"
	"github.com/handson-dev/rotation-operator/test/harness"
)

// The operator dies after M of the K writes a clean provisioning makes (K
// measured first), for M = 1, K/3, 2K/3 and K-1: its transport fails every
// request after the M-th write and its manager's context is cancelled. A
// fresh operator then brings the lab to Ready with the same objects as the
// clean run, each controlled by the rotation alone.
func TestFaultKillDuringProvisioning(t *testing.T) {
	clean := startOperator(t, "clean", operator.Options{})
	createRotation(t, rotation("kill-clean"))
	lr, took := waitReady(t, "kill-clean", 90*time.Second)
	if err := clean.Writes.WaitQuiet(2*time.Second, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	writes := clean.Writes.Writes()
	k := len(writes)
	want := inventory(t, lr)
	if err := clean.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean run: Ready in %s after K=%d writes; lab %v", took.Round(time.Millisecond), k, want)
	for i, w := range writes {
		t.Logf("  write %2d: %s", i+1, w)
	}
	if k < 8 {
		t.Fatalf("a clean provisioning made %d writes; expected at least the lab objects", k)
	}

	points := []int{1, k / 3, 2 * k / 3, k - 1}
	points = slices.Compact(points)
	for _, m := range points {
		t.Run(fmt.Sprintf("after-%d-of-%d", m, k), func(t *testing.T) {
			name := fmt.Sprintf("kill-%d", m)
			kill := harness.NewKillSwitch(int64(m))
			doomed := startOperator(t, "doomed", operator.Options{}, kill.Fault)
			createRotation(t, rotation(name))
			// K varies by a few writes between runs (a second pass may start
			// before the cache holds the first one's status); a run that
			// finishes in fewer than M writes is killed once it is quiet.
			finished := make(chan error, 1)
			go func() {
				lr := &rotationsv1.LearningRotation{}
				for range 900 {
					if readyErr(context.Background(), name, lr) == nil {
						finished <- doomed.Writes.WaitQuiet(2*time.Second, 30*time.Second)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				finished <- errors.New("not Ready in 90s")
			}()
			select {
			case <-kill.Tripped:
			case err := <-finished:
				if err != nil || !kill.Killed() {
					t.Logf("provisioning finished in %d writes, before the kill point %d (%v)", doomed.Writes.Len(), m, err)
				}
				kill.Kill()
			}
			killedAt := time.Now()
			// A runnable that was mid-request at the kill (the catalog
			// installer at start-up) ends the manager with the kill's
			// error: that is the crash being simulated, not a failure.
			if err := doomed.Stop(); err != nil && !errors.Is(err, harness.ErrKilled) && !strings.Contains(err.Error(), harness.ErrKilled.Error()) {
				t.Fatal(err)
			}
			// Requests in flight at the kill may have failed: at most M reached the apiserver.
			made := doomed.Writes.Writes()
			if len(made) > m {
				t.Fatalf("the killed operator made %d writes, more than %d: %v", len(made), m, made)
			}
			if len(made) > 0 {
				t.Logf("killed after %d writes, last %s; stopped in %s", len(made), made[len(made)-1], time.Since(killedAt).Round(time.Millisecond))
			}

			fresh := startOperator(t, "fresh", operator.Options{})
			lr, took := waitReady(t, name, 90*time.Second)
			converged(t, fmt.Sprintf("kill-after-%d-of-%d-writes", m, k), took)
			if err := fresh.Writes.WaitQuiet(2*time.Second, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			got := inventory(t, lr)
			if !maps.Equal(got, want) {
				t.Errorf("lab objects after the kill %v, want the clean run's %v", got, want)
			}
			// The fresh operator finishes the job without redoing it: with the
			// killed one's writes it makes about as many as a clean run (a
			// pass redone from scratch would come near 2K).
			if total := len(made) + fresh.Writes.Len(); total > k+k/2 {
				t.Errorf("%d writes before the kill and %d after, well over the clean run's %d: %v", len(made), fresh.Writes.Len(), k, fresh.Writes.Writes())
			}
		})
	}
}
