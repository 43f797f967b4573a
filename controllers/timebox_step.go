package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// stage is where a rotation is in its time box. The timebox step sets it
// from the schedule, spec.suspend and the injected clock; the later steps run
// or not according to it (see during).
type stage int

const (
	// stageActive: between start and deadline; the learner works, grading runs.
	stageActive stage = iota
	// stageScheduled: the start is ahead. There is no lab yet: no namespace,
	// no token, nothing counted against the cluster, nothing for the learner
	// to start early on. The rotation shows its schedule, and the lab is
	// provisioned at the start.
	stageScheduled
	// stageSuspended: spec.suspend inside the active window. Workloads are
	// scaled to zero, the learner's access is read-only, grading is paused.
	stageSuspended
	// stageExpired: after the deadline, within retention. Read-only access,
	// grades frozen; the lab stays for the learner and mentors to look at.
	stageExpired
	// stageLabDeleted: retention is over (or the lab was deleted for it
	// before). The rotation and its grades stay; the lab is never recreated.
	stageLabDeleted
)

func (st stage) String() string {
	return [...]string{"Active", "Scheduled", "Suspended", "Expired", "LabDeleted"}[st]
}

// labLive: the lab namespace exists, or should.
func labLive(s *rotationScope) bool { return s.stage != stageScheduled && s.stage != stageLabDeleted }

// writable: the learner works in the lab and grading runs.
func writable(s *rotationScope) bool { return s.stage == stageActive }

// during runs step only when cond holds for the pass's stage.
func during(cond func(*rotationScope) bool, step rotationStep) rotationStep {
	return func(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
		if !cond(s) {
			return ctrl.Result{}, nil
		}
		return step(ctx, s)
	}
}

// reconcileTimebox places the rotation in its time box (status.go derives
// the Expired condition from the stage), deletes the lab once retention is
// over, and requeues at the next boundary (start, deadline, end of
// retention) as the injected clock counts. It runs after reconcileSchedule,
// which sets startedAt and deadline.
func (r *LearningRotationReconciler) reconcileTimebox(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	now := r.Clock.Now()
	var next time.Time
	s.stage, next = timeboxOf(lr).place(now)
	s.found.timed = true

	switch s.stage {
	case stageScheduled:
		lr.Status.Access = rotationsv1.AccessNone
	case stageLabDeleted:
		if err := r.deleteLab(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}

	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Second)}, nil
}

// timebox is a rotation's schedule as the time-box policy reads it.
type timebox struct {
	start, deadline, labEnd time.Time
	// explicitStart: spec.schedule.start is set. Only an explicit start can
	// be ahead: a rotation without one started when it was created,
	// whatever the operator's clock says.
	explicitStart bool
	suspend       bool
	// labDeleted: the lab was deleted for retention before, never recreated.
	labDeleted bool
}

func timeboxOf(lr *rotationsv1.LearningRotation) timebox {
	return timebox{
		start: lr.Status.StartedAt.Time, deadline: lr.Status.Deadline.Time, labEnd: labEnd(lr),
		explicitStart: lr.Spec.Schedule.Start != nil, suspend: lr.Spec.Suspend, labDeleted: lr.Status.LabDeletedAt != nil,
	}
}

// place is the time-box policy: the stage at now, and the next boundary
// (zero when there is none left).
func (tb timebox) place(now time.Time) (stage, time.Time) {
	switch {
	case tb.labDeleted || !now.Before(tb.labEnd):
		return stageLabDeleted, time.Time{}
	case !now.Before(tb.deadline):
		return stageExpired, tb.labEnd
	case tb.explicitStart && now.Before(tb.start):
		return stageScheduled, tb.start
	case tb.suspend:
		return stageSuspended, tb.deadline
	}
	return stageActive, tb.deadline
}

// labEnd is when retention ends and the lab is deleted: the deadline
// (set by reconcileSchedule) plus spec.schedule.retention, a week by default.
func labEnd(lr *rotationsv1.LearningRotation) time.Time {
	retention := 168 * time.Hour
	if lr.Spec.Schedule.Retention != nil {
		retention = lr.Spec.Schedule.Retention.Duration
	}
	return lr.Status.Deadline.Add(retention)
}

// deleteLab deletes the lab namespace once, after retention. The rotation
// owns it, so garbage collection would otherwise keep it as long as the
// rotation; the rotation and its grades outlive it.
func (r *LearningRotationReconciler) deleteLab(ctx context.Context, s *rotationScope) error {
	lr := s.lr
	lr.Status.Access = rotationsv1.AccessNone
	lr.Status.Kubeconfig = nil
	if lr.Status.LabDeletedAt != nil {
		return nil
	}
	ns := &corev1.Namespace{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Name: lab.Namespace(lr.Name)}, ns)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case !ns.DeletionTimestamp.IsZero():
	default:
		if owner := metav1.GetControllerOf(ns); owner == nil || owner.UID != lr.UID {
			// Not ours (an earlier rotation's, or someone else's): leave it.
			break
		}
		if err := r.Client.Delete(ctx, ns, client.Preconditions{UID: &ns.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting lab namespace %s after retention: %w", ns.Name, err)
		}
	}
	// status.go and notify.go report the deletion from labDeletedAt.
	now := metav1.NewTime(r.Clock.Now().UTC().Truncate(time.Second))
	lr.Status.LabDeletedAt = &now
	return nil
}

// desiredAccess is what the learner may do in the lab in a stage.
func desiredAccess(st stage) rotationsv1.LearnerAccess {
	switch st {
	case stageActive:
		return rotationsv1.AccessReadWrite
	case stageSuspended, stageExpired:
		return rotationsv1.AccessReadOnly
	}
	return rotationsv1.AccessNone
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
