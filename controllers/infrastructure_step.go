package controllers

import (
	"context"
	"fmt"
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
		s.found.infrastructure = &infrastructureFinding{problems: r.Infrastructure.Problems()}
	}
	return ctrl.Result{}, nil
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
