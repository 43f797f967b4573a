package controllers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/lab"
)

// This file decides the rotation's conditions, Ready, phase,
// observedGeneration and summary, once per pass, from what the steps found
// (findings.go). Steps never set a condition: they record. A finding left
// nil means its step did not run or did not look this pass, and its
// condition keeps the value of the previous pass.

// passView is what the status is decided from: the rotation as the steps
// left it, what they found, and how the pass ended.
type passView struct {
	lr    *rotationsv1.LearningRotation
	base  *rotationsv1.LearningRotation // as the pass read it
	found *findings
	stage stage
	err   error
}

// conditionRule derives one condition type; derive returns nil to leave
// the condition as it is.
type conditionRule struct {
	condition string
	derive    func(v passView) *observation
}

// conditionTable lists every condition the operator sets, in the order a
// new rotation first gets them; Ready comes after, from readyTable.
var conditionTable = []conditionRule{
	{rotationsv1.ConditionExpired, expiredCondition},
	{rotationsv1.ConditionLabProvisioned, labCondition},
	{rotationsv1.ConditionSuspended, suspendedCondition},
	{rotationsv1.ConditionExercisesResolved, resolvedCondition},
	{rotationsv1.ConditionHelpRequested, helpCondition},
	{rotationsv1.ConditionGraded, func(v passView) *observation { return v.found.graded }},
	{rotationsv1.ConditionCompleted, completedCondition},
	{rotationsv1.ConditionInfrastructureReady, infrastructureCondition},
}

// readyRule: when applies, Ready is ready(v) and the phase is phase
// (keepPhase: as it was, Provisioning if unset).
type readyRule struct {
	name  string
	when  func(v passView) bool
	ready func(v passView) *observation
	phase rotationsv1.RotationPhase
}

// keepPhase leaves the phase as it was, or Provisioning for a new rotation.
const keepPhase rotationsv1.RotationPhase = "keep"

// readyTable decides Ready and the phase: the first rule that applies wins.
// Ready means "the lab is ready for the learner to work in": outside the
// active window it is False with the stage as the reason, and the Expired
// and Suspended conditions carry the detail.
var readyTable = []readyRule{
	{"scheduled", cleanIn(stageScheduled), func(v passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonScheduled,
			"the rotation starts at "+stamp(v.lr.Status.StartedAt.Time)+"; the lab is provisioned then")
	}, rotationsv1.PhaseScheduled},
	{"suspended", cleanIn(stageSuspended), func(passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonSuspendedBySpec,
			"suspended: workloads at zero, learner access read-only, grading paused; set spec.suspend=false to resume")
	}, rotationsv1.PhaseSuspended},
	{"expired", cleanIn(stageExpired), func(v passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonDeadlinePassed,
			"the rotation ended at "+stamp(v.lr.Status.Deadline.Time)+"; the lab is read-only and grades are final")
	}, rotationsv1.PhaseExpired},
	{"lab deleted", cleanIn(stageLabDeleted), func(v passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonLabDeleted,
			"the rotation ended at "+stamp(v.lr.Status.Deadline.Time)+" and its lab was deleted after retention; grades are kept")
	}, rotationsv1.PhaseExpired},
	{"exercises unresolved", func(v passView) bool {
		// The lab works; some exercises cannot be graded until the Exercise is fixed.
		return v.err == nil && v.is(rotationsv1.ConditionLabProvisioned, metav1.ConditionTrue) &&
			v.is(rotationsv1.ConditionExercisesResolved, metav1.ConditionFalse)
	}, func(v passView) *observation {
		c := meta.FindStatusCondition(v.lr.Status.Conditions, rotationsv1.ConditionExercisesResolved)
		return observe(metav1.ConditionFalse, c.Reason, c.Message)
	}, rotationsv1.PhaseActive},
	{"ready", func(v passView) bool {
		return v.err == nil && v.is(rotationsv1.ConditionLabProvisioned, metav1.ConditionTrue)
	}, func(passView) *observation {
		return observe(metav1.ConditionTrue, rotationsv1.ReasonReady, "the lab is ready for the learner")
	}, rotationsv1.PhaseActive},
	{"terminal error", func(v passView) bool { return terminal(v.err) }, func(v passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonInvalidSpec, v.err.Error())
	}, rotationsv1.PhaseFailed},
	{"error", func(v passView) bool { return v.err != nil }, func(v passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonNotReady, v.err.Error())
	}, keepPhase},
	{"provisioning", func(passView) bool { return true }, func(passView) *observation {
		return observe(metav1.ConditionFalse, rotationsv1.ReasonNotReady, "the lab is being provisioned")
	}, rotationsv1.PhaseProvisioning},
}

// readyRuleFor is the first rule of readyTable that applies; the last
// always does.
func readyRuleFor(v passView) readyRule {
	for _, rule := range readyTable {
		if rule.when(v) {
			return rule
		}
	}
	return readyTable[len(readyTable)-1]
}

// cleanIn: the pass ended without error in stage st (outside the active
// window; an active pass is judged by its lab).
func cleanIn(st stage) func(passView) bool {
	return func(v passView) bool { return v.err == nil && v.found.timed && v.stage == st }
}

func terminal(err error) bool { return errors.Is(err, reconcile.TerminalError(nil)) }

func (v passView) is(condition string, status metav1.ConditionStatus) bool {
	c := meta.FindStatusCondition(v.lr.Status.Conditions, condition)
	return c != nil && c.Status == status
}

// summarize decides the status at the end of a pass: the conditions,
// Ready and the phase, the summary lines, and, after a clean pass or a
// terminal error, observedGeneration.
func (r *LearningRotationReconciler) summarize(base *rotationsv1.LearningRotation, s *rotationScope, err error) {
	decideStatus(passView{lr: s.lr, base: base, found: &s.found, stage: s.stage, err: err}, r.Clock.Now())
}

// decideStatus is summarize without the reconciler, for table tests.
func decideStatus(v passView, now time.Time) {
	st := &v.lr.Status
	for _, rule := range conditionTable {
		if o := rule.derive(v); o != nil {
			setCondition(v.lr, rule.condition, o, now)
		}
	}
	if v.found.progress {
		st.Summary = summaryLines(st.Exercises)
	}
	rule := readyRuleFor(v)
	setCondition(v.lr, rotationsv1.ConditionReady, rule.ready(v), now)
	switch {
	case rule.phase != keepPhase:
		st.Phase = rule.phase
	case st.Phase == "" || st.Phase == rotationsv1.PhasePending:
		st.Phase = rotationsv1.PhaseProvisioning
	}
	if v.err == nil || terminal(v.err) {
		st.ObservedGeneration = v.lr.Generation
	}
}

// setCondition sets a condition with the rotation's generation. Its
// transition time is the operator's clock, as for every other time it
// records (suspensions are measured from it).
func setCondition(lr *rotationsv1.LearningRotation, condition string, o *observation, now time.Time) {
	meta.SetStatusCondition(&lr.Status.Conditions, metav1.Condition{
		Type: condition, Status: o.status, Reason: o.reason, Message: o.message,
		ObservedGeneration: lr.Generation, LastTransitionTime: metav1.NewTime(now),
	})
}

func expiredCondition(v passView) *observation {
	if !v.found.timed {
		return nil
	}
	deadline := v.lr.Status.Deadline.Time
	if v.stage == stageExpired || v.stage == stageLabDeleted {
		return observe(metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed,
			fmt.Sprintf("the rotation ended at %s; grades are final", stamp(deadline)))
	}
	return observe(metav1.ConditionFalse, rotationsv1.ReasonNotExpired, "the deadline is "+stamp(deadline))
}

func labCondition(v passView) *observation {
	f := v.found
	switch {
	case f.spec != nil:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonInvalidSpec, f.spec.Error())
	case f.lab != nil && f.lab.err != nil:
		return observe(metav1.ConditionFalse, f.lab.reason, f.lab.err.Error())
	case f.lab != nil:
		return observe(metav1.ConditionTrue, rotationsv1.ReasonProvisioned,
			fmt.Sprintf("%d objects in place in namespace %s", f.lab.objects, f.lab.namespace))
	case labDeletedThisPass(v):
		return observe(metav1.ConditionFalse, rotationsv1.ReasonLabDeleted, labDeletedMessage(v.lr))
	case f.timed && v.stage == stageScheduled:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonScheduled,
			fmt.Sprintf("the lab is provisioned when the rotation starts, at %s", stamp(v.lr.Status.StartedAt.Time)))
	}
	return nil
}

// labDeletedThisPass: the timebox step deleted the lab after retention.
func labDeletedThisPass(v passView) bool {
	return v.base != nil && v.base.Status.LabDeletedAt == nil && v.lr.Status.LabDeletedAt != nil
}

func labDeletedMessage(lr *rotationsv1.LearningRotation) string {
	return fmt.Sprintf("retention ended at %s: lab namespace %s deleted; the rotation and its grades are kept",
		stamp(labEnd(lr)), lab.Namespace(lr.Name))
}

func suspendedCondition(v passView) *observation {
	switch f := v.found; {
	case f.suspend != nil && f.suspend.err != nil:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonSuspendedBySpec, f.suspend.err.Error())
	case f.suspend != nil:
		return observe(metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec,
			fmt.Sprintf("suspended by spec.suspend: %d Deployments and StatefulSets at zero replicas, learner access read-only, grading paused", f.suspend.workloads))
	case f.resume != nil && f.resume.never:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonNotSuspended, "the rotation is not suspended")
	case f.resume != nil:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonNotSuspended, resumedMessage(f.resume.restored))
	}
	return nil
}

func resumedMessage(restored []string) string {
	msg := "rotation resumed: grading runs, learner access read-write"
	if len(restored) > 0 {
		msg += "; replicas restored: " + strings.Join(restored, ", ")
	}
	return msg
}

func resolvedCondition(v passView) *observation {
	f := v.found.exercises
	switch {
	case f == nil:
		return nil
	case len(f.missing) > 0:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonExerciseNotFound,
			"exercises not found: "+strings.Join(f.missing, ", ")+"; create them or fix spec.exercises.names")
	case len(f.invalid) > 0:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonExerciseInvalid,
			"exercises whose checks do not compile: "+strings.Join(f.invalid, "; "))
	case len(f.order) > 0:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonExerciseOrderInvalid,
			"spec.after ignored where it cannot hold: "+strings.Join(f.order, "; ")+"; fix the Exercises' spec.after")
	}
	return observe(metav1.ConditionTrue, rotationsv1.ReasonResolved, fmt.Sprintf("%d exercises selected", f.selected))
}

func helpCondition(v passView) *observation {
	if !v.found.help {
		return nil
	}
	switch help := v.lr.Status.HelpRequest; {
	case help == nil:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonNoHelpRequested, "the learner has not asked for help")
	case help.AcknowledgedAt == nil:
		msg := "the learner asked for help at " + stamp(help.RequestedAt.Time)
		if help.Message != "" {
			msg += ": " + help.Message
		}
		return observe(metav1.ConditionTrue, rotationsv1.ReasonHelpRequested, msg)
	default:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonHelpAcknowledged,
			fmt.Sprintf("the help request of %s was acknowledged at %s", stamp(help.RequestedAt.Time), stamp(help.AcknowledgedAt.Time)))
	}
}

// completedCondition: True once every selected exercise has passed once.
func completedCondition(v passView) *observation {
	if !v.found.progress {
		return nil
	}
	st := &v.lr.Status
	var todo []string
	for _, e := range st.Exercises {
		if e.FirstPassedAt == nil {
			todo = append(todo, e.Name)
		}
	}
	switch {
	case len(st.Exercises) == 0:
		return observe(metav1.ConditionFalse, rotationsv1.ReasonInProgress, "no exercises graded yet")
	case len(todo) == 0:
		return observe(metav1.ConditionTrue, rotationsv1.ReasonAllPassed,
			fmt.Sprintf("all %d exercises passed: score %d/%d", len(st.Exercises), st.Score, st.MaxScore))
	}
	return observe(metav1.ConditionFalse, rotationsv1.ReasonInProgress,
		fmt.Sprintf("%d/%d exercises passed; to do: %s", len(st.Exercises)-len(todo), len(st.Exercises), strings.Join(todo, ", ")))
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
