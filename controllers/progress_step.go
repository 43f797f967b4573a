package controllers

import (
	"context"
	"math"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// overrunFactor: an exercise running past this many times its estimate
// without passing is a tunnel worth a mentor's look.
const overrunFactor = 2

// reconcileProgress, after grading, fills in the tunnel-effect fields of each
// result (the author's estimate, the minutes the learner took to pass) and
// marks an exercise that runs past twice its estimate without passing
// (notify.go warns once). It requeues for the next overrun. Completed and
// the summary follow status.exercises (status.go).
func (r *LearningRotationReconciler) reconcileProgress(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	now := r.Clock.Now()
	var next time.Time
	if writable(s) {
		for _, sel := range s.exercises {
			res := s.result(sel.ex.Name)
			res.EstimatedMinutes = sel.ex.Spec.EstimatedMinutes
			if at := trackTunnel(res, now); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	s.found.progress = true

	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Second)}, nil
}

// trackTunnel sets minutesToPass once the exercise passed, and overranAt
// once it is overdue; it returns when the exercise will overrun, if it has
// not yet and may.
func trackTunnel(res *rotationsv1.ExerciseResult, now time.Time) time.Time {
	if res.FirstPassedAt != nil {
		if res.MinutesToPass == 0 && res.StartedAt != nil {
			res.MinutesToPass = minutesBetween(workStart(*res), res.FirstPassedAt.Time)
		}
		return time.Time{}
	}
	due := overrunDue(*res)
	if due.IsZero() || now.Before(due) {
		return due
	}
	at := metav1.NewTime(now.UTC().Truncate(time.Second))
	res.OverranAt = &at
	return time.Time{}
}

// overrunDue is when an exercise started and not passed runs past
// overrunFactor times its estimate, suspensions not counted; zero when it
// cannot: not started, passed, without an estimate, or already marked.
func overrunDue(res rotationsv1.ExerciseResult) time.Time {
	if res.StartedAt == nil || res.FirstPassedAt != nil || res.EstimatedMinutes <= 0 || res.OverranAt != nil {
		return time.Time{}
	}
	return workStart(res).Add(time.Duration(overrunFactor*res.EstimatedMinutes) * time.Minute)
}

// workStart is when the exercise started, moved later by the time the
// rotation spent suspended since: the clock its durations are read on.
func workStart(res rotationsv1.ExerciseResult) time.Time {
	return res.StartedAt.Add(time.Duration(res.PausedSeconds) * time.Second)
}

// minutesBetween rounds up, and is at least 1: an exercise passed within a
// minute took a minute, and 0 would read as unset.
func minutesBetween(from, to time.Time) int32 {
	m := math.Ceil(to.Sub(from).Minutes())
	return int32(max(m, 1))
}
