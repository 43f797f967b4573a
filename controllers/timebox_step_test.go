package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
	"github.com/handson-dev/rotation-operator/internal/testutil"
)

// TestTimeboxStages walks the time box step through each boundary with a
// fake clock: the stage, access, conditions, and a requeue exactly at the
// next boundary.
func TestTimeboxStages(t *testing.T) {
	start := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	const duration, retention = 8 * time.Hour, 2 * time.Hour
	deadline, labEnd := start.Add(duration), start.Add(duration+retention)

	tests := []struct {
		name    string
		now     time.Time
		suspend bool
		stage   stage
		access  rotationsv1.LearnerAccess // after the access step, "" if it does not run
		requeue time.Duration
		expired metav1.ConditionStatus
		phase   rotationsv1.RotationPhase
	}{
		{"an hour before the start", start.Add(-time.Hour), false, stageScheduled, rotationsv1.AccessNone, time.Hour, metav1.ConditionFalse, rotationsv1.PhaseScheduled},
		{"at the start", start, false, stageActive, rotationsv1.AccessReadWrite, duration, metav1.ConditionFalse, ""},
		{"suspended", start.Add(time.Hour), true, stageSuspended, rotationsv1.AccessReadOnly, duration - time.Hour, metav1.ConditionFalse, rotationsv1.PhaseSuspended},
		{"a second before the deadline", deadline.Add(-time.Second), false, stageActive, rotationsv1.AccessReadWrite, time.Second, metav1.ConditionFalse, ""},
		{"at the deadline", deadline, false, stageExpired, rotationsv1.AccessReadOnly, retention, metav1.ConditionTrue, rotationsv1.PhaseExpired},
		{"suspended past the deadline is expired", deadline.Add(time.Minute), true, stageExpired, rotationsv1.AccessReadOnly, retention - time.Minute, metav1.ConditionTrue, rotationsv1.PhaseExpired},
		{"at the end of retention", labEnd, false, stageLabDeleted, rotationsv1.AccessNone, 0, metav1.ConditionTrue, rotationsv1.PhaseExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := testutil.Rotation("box").Start(start).Duration(duration).Retention(retention).Suspend(tt.suspend).Obj()
			lr.UID = types.UID("uid-box")
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lab.Namespace("box"), OwnerReferences: lab.OwnerReferences(lr)}}
			c := fake.NewClientBuilder().WithObjects(ns).Build()
			r := &LearningRotationReconciler{Client: c, APIReader: c, Clock: clocktesting.NewFakePassiveClock(tt.now)}
			s := &rotationScope{lr: lr}
			base := lr.DeepCopy()
			ctx := context.Background()
			if _, err := r.reconcileSchedule(ctx, s); err != nil {
				t.Fatal(err)
			}
			res, err := r.reconcileTimebox(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if s.stage != tt.stage || res.RequeueAfter != tt.requeue {
				t.Errorf("stage %s requeue %s, want %s %s", s.stage, res.RequeueAfter, tt.stage, tt.requeue)
			}
			if got := desiredAccess(s.stage); got != tt.access {
				t.Errorf("access %s, want %s", got, tt.access)
			}
			// Steps record; status.go decides the conditions at the end of the pass.
			r.summarize(base, s, nil)
			if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExpired); c == nil || c.Status != tt.expired {
				t.Errorf("Expired = %+v, want %s", c, tt.expired)
			}
			if tt.phase != "" && lr.Status.Phase != tt.phase {
				t.Errorf("phase %s, want %s", lr.Status.Phase, tt.phase)
			}
			err = c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
			if deleted := apierrors.IsNotFound(err); deleted != (tt.stage == stageLabDeleted) {
				t.Errorf("lab namespace deleted = %t (err %v)", deleted, err)
			}
			if tt.stage == stageLabDeleted && (lr.Status.LabDeletedAt == nil || lr.Status.Access != rotationsv1.AccessNone) {
				t.Errorf("labDeletedAt %v access %s", lr.Status.LabDeletedAt, lr.Status.Access)
			}
		})
	}
}

// A rotation without an explicit start started at its creation, even when
// the operator's clock is behind the apiserver's.
func TestTimeboxCreationIsTheDefaultStart(t *testing.T) {
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	lr := testutil.Rotation("skew").Obj()
	lr.CreationTimestamp = metav1.NewTime(now.Add(time.Minute))
	r := &LearningRotationReconciler{Clock: clocktesting.NewFakePassiveClock(now)}
	s := &rotationScope{lr: lr}
	_, _ = r.reconcileSchedule(context.Background(), s)
	if _, err := r.reconcileTimebox(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if s.stage != stageActive {
		t.Errorf("stage %s, want Active", s.stage)
	}
}

func TestMinutesBetween(t *testing.T) {
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want int32
	}{{0, 1}, {30 * time.Second, 1}, {time.Minute, 1}, {61 * time.Second, 2}, {90 * time.Minute, 90}} {
		if got := minutesBetween(t0, t0.Add(tt.d)); got != tt.want {
			t.Errorf("minutesBetween(%s) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestSummaryLines(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	got := summaryLines([]rotationsv1.ExerciseResult{
		{Name: "scale-and-expose", State: rotationsv1.ExercisePassed, Points: 15, BestPoints: 15, MaxPoints: 15,
			Checks: []rotationsv1.CheckResult{{Passed: true}, {Passed: true}}, Attempts: 3, FailedAttempts: 1,
			EstimatedMinutes: 20, MinutesToPass: 12, HintsUnlocked: 1},
		{Name: "fix-broken-deployment", State: rotationsv1.ExerciseInProgress, Points: 5, BestPoints: 10, MaxPoints: 20,
			Checks: []rotationsv1.CheckResult{{Passed: true}, {}, {}}, Attempts: 1, FailedAttempts: 1,
			EstimatedMinutes: 15, OverranAt: &at, Resets: 2},
		{Name: "configmap-rollout", State: rotationsv1.ExerciseNotStarted, MaxPoints: 10, EstimatedMinutes: 30},
	})
	want := []string{
		"scale-and-expose: Passed, 15/15 points, checks 2/2, 3 attempts (1 failed), passed in 12 min (estimate 20), 1 hint unlocked",
		"fix-broken-deployment: InProgress, 10/20 points (5 now), checks 1/3, 1 attempt (1 failed), over twice the estimate of 15 min since 2026-05-04T09:00:00Z, reset 2 times",
		"configmap-rollout: NotStarted, 0/10 points, checks 0/0, 0 attempts, estimate 30 min",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got  %s\n want %s", i, got[i], want[i])
		}
	}
	if summaryLines(nil) != nil {
		t.Error("no exercises should give no summary")
	}
}
