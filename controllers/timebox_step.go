package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
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

// reconcileTimebox places the rotation in its time box, sets the Expired
// condition, deletes the lab once retention is over, and requeues at the next
// boundary (start, deadline, end of retention) as the injected clock counts.
// It runs after reconcileSchedule, which sets startedAt and deadline.
func (r *LearningRotationReconciler) reconcileTimebox(ctx context.Context, s *rotationScope) (ctrl.Result, error) {
	lr := s.lr
	now := r.Clock.Now()
	start, deadline := lr.Status.StartedAt.Time, lr.Status.Deadline.Time
	retention := 168 * time.Hour
	if lr.Spec.Schedule.Retention != nil {
		retention = lr.Spec.Schedule.Retention.Duration
	}
	labEnd := deadline.Add(retention)

	var next time.Time
	switch {
	case lr.Status.LabDeletedAt != nil || !now.Before(labEnd):
		s.stage = stageLabDeleted
	case !now.Before(deadline):
		s.stage, next = stageExpired, labEnd
	case lr.Spec.Schedule.Start != nil && now.Before(start):
		// Only an explicit start can be ahead: a rotation without one started
		// when it was created, whatever the operator's clock says.
		s.stage, next = stageScheduled, start
	case lr.Spec.Suspend:
		s.stage, next = stageSuspended, deadline
	default:
		s.stage, next = stageActive, deadline
	}

	if s.stage == stageExpired || s.stage == stageLabDeleted {
		wasExpired := r.conditionTrue(s, rotationsv1.ConditionExpired)
		r.setCondition(s, rotationsv1.ConditionExpired, metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed,
			fmt.Sprintf("the rotation ended at %s; grades are final", stamp(deadline)))
		if !wasExpired {
			st := &lr.Status
			s.events.add(corev1.EventTypeNormal, rotationsv1.ReasonDeadlinePassed, "Expire",
				fmt.Sprintf("the rotation ended at %s: the learner's access is read-only and grades are final (score %d/%d, %d/%d exercises passed); the lab is deleted at %s",
					stamp(deadline), st.Score, st.MaxScore, st.Completed, st.Total, stamp(labEnd)))
		}
	} else {
		r.setCondition(s, rotationsv1.ConditionExpired, metav1.ConditionFalse, rotationsv1.ReasonNotExpired,
			"the deadline is "+stamp(deadline))
	}

	switch s.stage {
	case stageScheduled:
		lr.Status.Access = rotationsv1.AccessNone
		r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonScheduled,
			fmt.Sprintf("the lab is provisioned when the rotation starts, at %s", stamp(start)))
	case stageLabDeleted:
		if err := r.deleteLab(ctx, s, labEnd); err != nil {
			return ctrl.Result{}, err
		}
	}

	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Second)}, nil
}

// deleteLab deletes the lab namespace once, after retention. The rotation
// owns it, so garbage collection would otherwise keep it as long as the
// rotation; the rotation and its grades outlive it.
func (r *LearningRotationReconciler) deleteLab(ctx context.Context, s *rotationScope, labEnd time.Time) error {
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
	now := metav1.NewTime(r.Clock.Now().UTC().Truncate(time.Second))
	lr.Status.LabDeletedAt = &now
	msg := fmt.Sprintf("retention ended at %s: lab namespace %s deleted; the rotation and its grades are kept", stamp(labEnd), lab.Namespace(lr.Name))
	r.setCondition(s, rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonLabDeleted, msg)
	s.events.add(corev1.EventTypeNormal, rotationsv1.ReasonLabDeleted, "DeleteLab", msg)
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

// summarizeStage sets Ready and the phase for a clean pass outside the
// active window, and reports whether it did. Ready means "the lab is ready
// for the learner to work in", so it is False there, with the stage as the
// reason; the Expired and Suspended conditions carry the detail.
func (r *LearningRotationReconciler) summarizeStage(s *rotationScope) bool {
	lr := s.lr
	switch s.stage {
	case stageScheduled:
		lr.Status.Phase = rotationsv1.PhaseScheduled
		r.setCondition(s, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonScheduled,
			"the rotation starts at "+stamp(lr.Status.StartedAt.Time)+"; the lab is provisioned then")
	case stageSuspended:
		lr.Status.Phase = rotationsv1.PhaseSuspended
		r.setCondition(s, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonSuspendedBySpec,
			"suspended: workloads at zero, learner access read-only, grading paused; set spec.suspend=false to resume")
	case stageExpired:
		lr.Status.Phase = rotationsv1.PhaseExpired
		r.setCondition(s, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonDeadlinePassed,
			"the rotation ended at "+stamp(lr.Status.Deadline.Time)+"; the lab is read-only and grades are final")
	case stageLabDeleted:
		lr.Status.Phase = rotationsv1.PhaseExpired
		r.setCondition(s, rotationsv1.ConditionReady, metav1.ConditionFalse, rotationsv1.ReasonLabDeleted,
			"the rotation ended at "+stamp(lr.Status.Deadline.Time)+" and its lab was deleted after retention; grades are kept")
	default:
		return false
	}
	return true
}

func (r *LearningRotationReconciler) conditionTrue(s *rotationScope, t string) bool {
	return meta.IsStatusConditionTrue(s.lr.Status.Conditions, t)
}
