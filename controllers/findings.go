package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/handson-dev/rotation-operator/internal/grading"
)

// What a pass's steps found, recorded in the scope for status.go to decide
// the conditions from and notify.go the transition events.

// findings is what one pass's steps found, per concern.
type findings struct {
	// spec: what admission should have refused (reconcileSpec).
	spec error
	// timed: the timebox step placed the rotation, so s.stage holds.
	timed bool
	// lab: the lab step's outcome.
	lab *labFinding
	// suspend, resume: the suspend and resume steps' outcomes.
	suspend *suspendFinding
	resume  *resumeFinding
	// exercises: how the selection resolved (exercises step).
	exercises *selectionFinding
	// graded: the grading step's outcome; gradeTransitions what
	// grading.Advance reported per exercise (notify.go announces them).
	graded           *observation
	gradeTransitions map[string]grading.Transition
	// help: the requests step served the learner's requests, so
	// HelpRequested follows status.helpRequest.
	help bool
	// progress: the progress step ran, so Completed and the summary follow
	// status.exercises.
	progress bool
	// infrastructure: what the operator's environment checks report
	// (infrastructure_step.go); nil when the reconciler has none.
	infrastructure *infrastructureFinding
}

// infrastructureFinding: the problems of what the cluster admin provides
// for labs, none when all is well.
type infrastructureFinding struct {
	problems []InfrastructureProblem
}

// observation is a condition as a step found it.
type observation struct {
	status          metav1.ConditionStatus
	reason, message string
}

func observe(status metav1.ConditionStatus, reason, message string) *observation {
	return &observation{status: status, reason: reason, message: message}
}

// labFinding: the lab objects were applied (err nil), or why not.
type labFinding struct {
	namespace string
	objects   int
	// repaired names objects put back after someone changed or deleted them.
	repaired []string
	err      error
	reason   string // err's reason: ProvisioningFailed, NamespaceConflict, NamespaceTerminating
	// stuck: a terminating namespace held by finalizers nobody removes.
	stuck bool
}

// suspendFinding: the learner's workloads were scaled to zero (err nil).
type suspendFinding struct {
	workloads int
	scaled    []string // workloads scaled down this pass, "Deployment web (2)"
	err       error
}

// resumeFinding: the remembered replicas were restored.
type resumeFinding struct {
	// never: the rotation was never suspended; there was nothing to restore.
	never    bool
	restored []string
}

// selectionFinding: how spec.exercises resolved.
type selectionFinding struct {
	selected         int
	missing, invalid []string
	// order: spec.after names of no Exercise, and cycles (exercise_order.go).
	order []string
}

// recordGradeTransition keeps what grading.Advance reported for an exercise.
func (f *findings) recordGradeTransition(exercise string, t grading.Transition) {
	if t == grading.NoTransition {
		return
	}
	if f.gradeTransitions == nil {
		f.gradeTransitions = map[string]grading.Transition{}
	}
	f.gradeTransitions[exercise] = t
}
