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
// InfrastructureReady condition and its events. Which ones concern the
// rotation is decided with the status (infrastructureCondition), once the
// pass has selected its exercises: a new rotation that names a cicd
// exercise says the engine is missing in its first passes, not at the
// next resync.
func (r *LearningRotationReconciler) reconcileInfrastructure(_ context.Context, s *rotationScope) (ctrl.Result, error) {
	if r.Infrastructure != nil {
		s.found.infrastructure = &infrastructureFinding{problems: r.Infrastructure.Problems()}
	}
	return ctrl.Result{}, nil
}

// problemsOf are the problems that concern the rotation: those of every
// track, and those of a track it has exercises of.
func problemsOf(lr *rotationsv1.LearningRotation, all []InfrastructureProblem) []InfrastructureProblem {
	var out []InfrastructureProblem
	for _, p := range all {
		if p.Track == "" || hasTrack(lr, p.Track) {
			out = append(out, p)
		}
	}
	return out
}

// hasTrack tells whether the rotation selects exercises of a track: by
// track in its spec, or among the exercises of its status (this pass's
// selection once the exercises step ran, else the last pass's).
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
	if f == nil {
		return nil
	}
	problems := problemsOf(v.lr, f.problems)
	switch {
	case len(problems) > 0:
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		return observe(metav1.ConditionFalse, problems[0].Reason, strings.Join(msgs, "; "))
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
