package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// InfrastructureProblem is a failure of something the cluster admin
// provides for labs, e.g. the lab registry: not the rotation's fault, but
// its learner meets it, so each rotation says so.
type InfrastructureProblem struct {
	// Reason is a condition reason, e.g. rotationsv1.ReasonRegistryUnavailable.
	Reason  string
	Message string
	// Track, when set, limits the problem to rotations with exercises of
	// that track (no CI/CD engine matters only to cicd exercises).
	Track rotationsv1.Track
}

// Infrastructure reports the infrastructure's current problems. It is
// checked outside reconciles (internal/operator probes it); a pass only
// reads the latest result.
type Infrastructure interface {
	Problems() []InfrastructureProblem
}

// reconcileInfrastructure records the infrastructure's problems for the
// InfrastructureReady condition and its events.
func (r *LearningRotationReconciler) reconcileInfrastructure(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	if r.Infrastructure != nil {
		var problems []InfrastructureProblem
		for _, p := range r.Infrastructure.Problems() {
			if p.Track == "" || hasTrack(s.lr, p.Track) {
				problems = append(problems, p)
			}
		}
		s.found.infrastructure = &infrastructureFinding{problems: problems}
	}
	return ctrl.Result{}, nil
}

// hasTrack tells whether the rotation selects exercises of a track: by
// track in its spec, or among the exercises its last pass selected (this
// step runs before the selection is resolved again).
func hasTrack(lr *rotationsv1.LearningRotation, t rotationsv1.Track) bool {
	if slices.Contains(lr.Spec.Exercises.Tracks, t) {
		return true
	}
	return slices.ContainsFunc(lr.Status.Exercises, func(e rotationsv1.ExerciseResult) bool { return e.Track == t })
}

// infrastructureCondition is False with the first problem's reason while
// there are problems, True once they are gone; it is not set on a rotation
// that never met one.
func infrastructureCondition(v passView) *observation {
	f := v.found.infrastructure
	switch {
	case f == nil:
		return nil
	case len(f.problems) > 0:
		msgs := make([]string, len(f.problems))
		for i, p := range f.problems {
			msgs[i] = p.Message
		}
		return observe(metav1.ConditionFalse, f.problems[0].Reason, strings.Join(msgs, "; "))
	case condition(v.lr, rotationsv1.ConditionInfrastructureReady) != nil:
		return observe(metav1.ConditionTrue, rotationsv1.ReasonInfrastructureReady, "the infrastructure problems reported before are gone")
	}
	return nil
}

// notifyInfrastructure: a Warning when a problem appears or changes, and a
// Normal event once they are gone.
func notifyInfrastructure(c change) []queuedEvent {
	was, now := condition(c.base, rotationsv1.ConditionInfrastructureReady), condition(c.lr, rotationsv1.ConditionInfrastructureReady)
	switch {
	case c.found.infrastructure == nil || now == nil:
		return nil
	case now.Status == metav1.ConditionFalse && (was == nil || was.Status != now.Status || was.Message != now.Message):
		return warning(now.Reason, "CheckInfrastructure", fmt.Sprintf("%s (reported by the operator; the cluster admin can fix it, not the learner)", now.Message))
	case now.Status == metav1.ConditionTrue && was != nil && was.Status == metav1.ConditionFalse:
		return normal(rotationsv1.ReasonInfrastructureReady, "CheckInfrastructure", now.Message)
	}
	return nil
}
