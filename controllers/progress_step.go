package controllers

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// overrunFactor: an exercise running past this many times its estimate
// without passing is a tunnel worth a mentor's look.
const overrunFactor = 2

// reconcileProgress, after grading, fills in the tunnel-effect fields of each
// result (the author's estimate, the minutes the learner took to pass), marks
// an exercise that runs past twice its estimate without passing (once, with a
// Warning event), and sets Completed. It requeues for the next overrun.
func (r *LearningRotationReconciler) reconcileProgress(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	now := r.Clock.Now()
	var next time.Time
	if writable(s) {
		for _, sel := range s.exercises {
			res := s.result(sel.ex.Name)
			res.EstimatedMinutes = sel.ex.Spec.EstimatedMinutes
			if at := r.trackTunnel(s, res, now); !at.IsZero() && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	r.setCompleted(s)
	s.lr.Status.Summary = summaryLines(s.lr.Status.Exercises)

	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), time.Second)}, nil
}

// trackTunnel sets minutesToPass and overranAt; it returns when the
// exercise will overrun, if it has not yet and may.
func (r *LearningRotationReconciler) trackTunnel(s *rotationScope, res *rotationsv1.ExerciseResult, now time.Time) time.Time {
	paused := time.Duration(res.PausedSeconds) * time.Second
	if res.FirstPassedAt != nil {
		if res.MinutesToPass == 0 && res.StartedAt != nil {
			res.MinutesToPass = minutesBetween(res.StartedAt.Add(paused), res.FirstPassedAt.Time)
		}
		return time.Time{}
	}
	if res.StartedAt == nil || res.EstimatedMinutes <= 0 || res.OverranAt != nil {
		return time.Time{}
	}
	limit := time.Duration(overrunFactor*res.EstimatedMinutes) * time.Minute
	due := res.StartedAt.Add(paused + limit)
	if now.Before(due) {
		return due
	}
	at := metav1.NewTime(now.UTC().Truncate(time.Second))
	res.OverranAt = &at
	s.events.add(corev1.EventTypeWarning, "ExerciseOverrun", "TrackProgress",
		fmt.Sprintf("exercise %s has taken %d minutes without passing, over %d× its estimate of %d minutes: the learner may be stuck (%d failed attempts, %d/%d points)",
			res.Name, minutesBetween(res.StartedAt.Add(paused), now), overrunFactor, res.EstimatedMinutes, res.FailedAttempts, res.Points, res.MaxPoints))
	return time.Time{}
}

// minutesBetween rounds up, and is at least 1: an exercise passed within a
// minute took a minute, and 0 would read as unset.
func minutesBetween(from, to time.Time) int32 {
	m := math.Ceil(to.Sub(from).Minutes())
	return int32(max(m, 1))
}

// setCompleted: True once every selected exercise has passed once.
func (r *LearningRotationReconciler) setCompleted(s *rotationScope) {
	st := &s.lr.Status
	var todo []string
	for _, e := range st.Exercises {
		if e.FirstPassedAt == nil {
			todo = append(todo, e.Name)
		}
	}
	switch {
	case len(st.Exercises) == 0:
		r.setCondition(s, rotationsv1.ConditionCompleted, metav1.ConditionFalse, rotationsv1.ReasonInProgress, "no exercises graded yet")
	case len(todo) == 0:
		was := r.conditionTrue(s, rotationsv1.ConditionCompleted)
		r.setCondition(s, rotationsv1.ConditionCompleted, metav1.ConditionTrue, rotationsv1.ReasonAllPassed,
			fmt.Sprintf("all %d exercises passed: score %d/%d", len(st.Exercises), st.Score, st.MaxScore))
		if !was {
			s.events.add(corev1.EventTypeNormal, "RotationCompleted", "TrackProgress",
				fmt.Sprintf("every exercise passed: score %d/%d", st.Score, st.MaxScore))
		}
	default:
		r.setCondition(s, rotationsv1.ConditionCompleted, metav1.ConditionFalse, rotationsv1.ReasonInProgress,
			fmt.Sprintf("%d/%d exercises passed; to do: %s", len(st.Exercises)-len(todo), len(st.Exercises), strings.Join(todo, ", ")))
	}
}

// summaryLines writes one line per exercise for kubectl describe, e.g.
//
//	scale-and-expose: Passed, 15/15 points, checks 2/2, 3 attempts (1 failed), passed in 12 min (estimate 20)
//
// Only recorded facts go in, never "minutes ago": an unchanged rotation
// must give an unchanged status.
func summaryLines(results []rotationsv1.ExerciseResult) []string {
	if len(results) == 0 {
		return nil
	}
	out := make([]string, 0, len(results))
	for _, e := range results {
		passedChecks := 0
		for _, c := range e.Checks {
			if c.Passed {
				passedChecks++
			}
		}
		line := fmt.Sprintf("%s: %s, %d/%d points", e.Name, e.State, e.BestPoints, e.MaxPoints)
		if e.Points != e.BestPoints {
			line += fmt.Sprintf(" (%d now)", e.Points)
		}
		line += fmt.Sprintf(", checks %d/%d, %s", passedChecks, len(e.Checks), plural(int(e.Attempts), "attempt"))
		if e.FailedAttempts > 0 {
			line += fmt.Sprintf(" (%d failed)", e.FailedAttempts)
		}
		switch {
		case e.MinutesToPass > 0 && e.EstimatedMinutes > 0:
			line += fmt.Sprintf(", passed in %d min (estimate %d)", e.MinutesToPass, e.EstimatedMinutes)
		case e.MinutesToPass > 0:
			line += fmt.Sprintf(", passed in %d min", e.MinutesToPass)
		case e.OverranAt != nil:
			line += fmt.Sprintf(", over twice the estimate of %d min since %s", e.EstimatedMinutes, stamp(e.OverranAt.Time))
		case e.EstimatedMinutes > 0:
			line += fmt.Sprintf(", estimate %d min", e.EstimatedMinutes)
		}
		if e.Resets > 0 {
			line += ", reset " + plural(int(e.Resets), "time")
		}
		if e.HintsUnlocked > 0 {
			line += ", " + plural(int(e.HintsUnlocked), "hint") + " unlocked"
		}
		out = append(out, line)
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
