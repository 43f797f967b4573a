package controllers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
)

// This file announces what changed in a pass, as Flux's notify does: each
// event is a transition between the status the pass read (base) and the one
// it writes. They are queued with the steps' own events and sent only once
// the status write succeeded (events.go), so a failed or retried pass
// announces nothing.
//
// Events that report an action rather than a change of status stay with the
// step that acted: InvalidSpec and NamespaceConflict (sent on every pass
// that meets them, not on a change), KubeconfigIssued and TokenRenewed (a
// renewal changes no status field), AccessChanged (a RoleBinding replaced),
// StarterCreated and StarterFailed (the pass that provisions a lab folds
// its KubeconfigIssued and StarterCreated into Provisioned, events.go),
// ExerciseReset and ResetFailed,
// InvalidRequest (a refused ConfigMap is deleted, status never sees it), and
// HelpRequested (its note echoes the learner's requestedAt as written,
// which status does not keep).

// change is one pass's status transition.
type change struct {
	base, lr *rotationsv1.LearningRotation
	found    *findings
	now      time.Time
}

// notifiers, in the order of the steps whose outcome they announce.
var notifiers = []func(c change) []queuedEvent{
	notifyExpired, notifyLabDeleted, notifySuspended, notifyLab, notifyResumed,
	notifyUnresolved, notifyHelpAcknowledged, notifySubmissions, notifyGrades,
	notifyUnlocked, notifyHandWritten, notifyOverruns, notifyCompleted, notifyInfrastructure,
}

// transitionEvents are the events of a pass's status transition.
func transitionEvents(c change) []queuedEvent {
	var out []queuedEvent
	for _, n := range notifiers {
		out = append(out, n(c)...)
	}
	return out
}

func normal(reason, action, note string) []queuedEvent {
	return []queuedEvent{{corev1.EventTypeNormal, reason, action, note}}
}

func warning(reason, action, note string) []queuedEvent {
	return []queuedEvent{{corev1.EventTypeWarning, reason, action, note}}
}

func condition(lr *rotationsv1.LearningRotation, t string) *metav1.Condition {
	return meta.FindStatusCondition(lr.Status.Conditions, t)
}

// becameTrue: the condition is True now and was not before.
func becameTrue(c change, t string) bool {
	return meta.IsStatusConditionTrue(c.lr.Status.Conditions, t) && !meta.IsStatusConditionTrue(c.base.Status.Conditions, t)
}

// notifyExpired: the deadline passed; grades are final.
func notifyExpired(c change) []queuedEvent {
	if !becameTrue(c, rotationsv1.ConditionExpired) {
		return nil
	}
	// The score as the pass found it: an expired rotation is not graded.
	st := &c.base.Status
	return normal(rotationsv1.ReasonDeadlinePassed, "Expire",
		fmt.Sprintf("the rotation ended at %s: the learner's access is read-only and grades are final (score %d/%d, %d/%d exercises passed); the lab is deleted at %s",
			stamp(c.lr.Status.Deadline.Time), st.Score, st.MaxScore, st.Completed, st.Total, stamp(labEnd(c.lr))))
}

// notifyLabDeleted: retention ended and the lab namespace was deleted.
func notifyLabDeleted(c change) []queuedEvent {
	if c.base.Status.LabDeletedAt != nil || c.lr.Status.LabDeletedAt == nil {
		return nil
	}
	return normal(rotationsv1.ReasonLabDeleted, "DeleteLab", labDeletedMessage(c.lr))
}

// notifySuspended: the rotation became suspended, or workloads the learner
// scaled up meanwhile were scaled down again.
func notifySuspended(c change) []queuedEvent {
	f := c.found.suspend
	if f == nil || f.err != nil || (!becameTrue(c, rotationsv1.ConditionSuspended) && len(f.scaled) == 0) {
		return nil
	}
	msg := "rotation suspended: grading paused, learner access read-only"
	if len(f.scaled) > 0 {
		msg += "; scaled to zero: " + strings.Join(f.scaled, ", ")
	}
	return normal("Suspended", "Suspend", msg)
}

// notifyResumed: a suspended rotation (or one whose suspension failed) is
// running again.
func notifyResumed(c change) []queuedEvent {
	was, now := condition(c.base, rotationsv1.ConditionSuspended), condition(c.lr, rotationsv1.ConditionSuspended)
	if was == nil || isNotSuspended(was) || now == nil || !isNotSuspended(now) {
		return nil
	}
	return normal("Resumed", "Resume", now.Message)
}

func isNotSuspended(c *metav1.Condition) bool {
	return c.Status == metav1.ConditionFalse && c.Reason == rotationsv1.ReasonNotSuspended
}

// notifyLab: the lab was provisioned, repaired, failed, or is held up by a
// terminating namespace whose finalizers nobody removes.
func notifyLab(c change) []queuedEvent {
	f := c.found.lab
	was, now := condition(c.base, rotationsv1.ConditionLabProvisioned), condition(c.lr, rotationsv1.ConditionLabProvisioned)
	switch {
	case f == nil || now == nil:
		return nil
	case f.err == nil && (was == nil || was.Status != metav1.ConditionTrue):
		return normal(rotationsv1.ReasonProvisioned, "Provision",
			fmt.Sprintf("lab namespace %s provisioned with %d objects", f.namespace, f.objects))
	case f.err == nil && len(f.repaired) > 0:
		return normal("Repaired", "Provision", "restored lab objects that were changed or deleted: "+strings.Join(f.repaired, ", "))
	case f.reason == rotationsv1.ReasonProvisioningFailed && (was == nil || was.Status != metav1.ConditionFalse):
		return warning(rotationsv1.ReasonProvisioningFailed, "Provision", now.Message)
	case f.reason == ReasonNamespaceTerminating && f.stuck && (was == nil || was.Message != now.Message):
		// Once per change of what holds the namespace.
		return warning(ReasonNamespaceTerminating, "Provision", now.Message)
	}
	return nil
}

// notifyUnresolved: exercises went missing or stopped compiling, once per
// change of which.
func notifyUnresolved(c change) []queuedEvent {
	was, now := condition(c.base, rotationsv1.ConditionExercisesResolved), condition(c.lr, rotationsv1.ConditionExercisesResolved)
	if c.found.exercises == nil || now == nil || now.Status != metav1.ConditionFalse || (was != nil && was.Message == now.Message) {
		return nil
	}
	return warning(now.Reason, "ResolveExercises", now.Message)
}

// notifyHelpAcknowledged: a mentor acknowledged the open help request.
func notifyHelpAcknowledged(c change) []queuedEvent {
	was, now := c.base.Status.HelpRequest, c.lr.Status.HelpRequest
	if now == nil || now.AcknowledgedAt == nil ||
		(was != nil && was.AcknowledgedAt != nil && was.RequestedAt.Equal(&now.RequestedAt)) {
		return nil
	}
	return normal(rotationsv1.ReasonHelpAcknowledged, "AcknowledgeHelp",
		fmt.Sprintf("a mentor acknowledged the help request of %s", stamp(now.RequestedAt.Time)))
}

// notifySubmissions: a new submission was handed in, gradable or not.
func notifySubmissions(c change) []queuedEvent {
	var out []queuedEvent
	for _, e := range c.lr.Status.Exercises {
		sub := e.Submission
		if sub == nil {
			continue
		}
		if prev := resultOf(c.base, e.Name); prev != nil && prev.Submission != nil && prev.Submission.Digest == sub.Digest {
			continue
		}
		if sub.Error != "" {
			out = append(out, warning(rotationsv1.ReasonInvalidSubmission, "Grade",
				fmt.Sprintf("submission for exercise %s cannot be graded: %s", e.Name, sub.Error))...)
		} else {
			out = append(out, normal("SubmissionReceived", "Grade",
				fmt.Sprintf("exercise %s: %d files handed in (%s)", e.Name, sub.Files, shortDigest(sub.Digest)))...)
		}
	}
	return out
}

// notifyGrades: exercises passed, or passed before and now fail, as
// grading.Advance judged from their previous result.
func notifyGrades(c change) []queuedEvent {
	var out []queuedEvent
	for _, e := range c.lr.Status.Exercises {
		switch t := c.found.gradeTransitions[e.Name]; t {
		case grading.TransitionPassed:
			out = append(out, normal(string(t), "Grade", fmt.Sprintf("exercise %s passed: %d/%d points", e.Name, e.Points, e.MaxPoints))...)
		case grading.TransitionRegressed:
			out = append(out, warning(string(t), "Grade", fmt.Sprintf("exercise %s passed before and now fails: %s", e.Name, firstFailure(e.Checks)))...)
		}
	}
	return out
}

func firstFailure(checks []rotationsv1.CheckResult) string {
	for _, c := range checks {
		if !c.Passed {
			return c.Name + ": " + c.Message
		}
	}
	return ""
}

// notifyUnlocked: every exercise a Locked exercise comes after has passed.
func notifyUnlocked(c change) []queuedEvent {
	var out []queuedEvent
	for _, e := range c.lr.Status.Exercises {
		if prev := resultOf(c.base, e.Name); prev != nil && prev.State == rotationsv1.ExerciseLocked && e.State != rotationsv1.ExerciseLocked {
			out = append(out, normal("ExerciseUnlocked", "Grade", fmt.Sprintf("exercise %s unlocked: the exercises it comes after have passed", e.Name))...)
		}
	}
	return out
}

// notifyHandWritten: the tool storage an exercise is graded on (Helm
// history, Terraform state) now looks written by hand, once per reason.
func notifyHandWritten(c change) []queuedEvent {
	var out []queuedEvent
	for _, e := range c.lr.Status.Exercises {
		if e.HandWritten == "" {
			continue
		}
		if prev := resultOf(c.base, e.Name); prev != nil && prev.HandWritten == e.HandWritten {
			continue
		}
		out = append(out, warning("ToolStorageHandWritten", "Grade",
			fmt.Sprintf("exercise %s: %s; its checks on that storage earn nothing until the tool writes it", e.Name, e.HandWritten))...)
	}
	return out
}

// notifyOverruns: an exercise ran past overrunFactor times its estimate
// without passing (the progress step marks it once).
func notifyOverruns(c change) []queuedEvent {
	var out []queuedEvent
	for _, e := range c.lr.Status.Exercises {
		if e.OverranAt == nil || e.StartedAt == nil {
			continue
		}
		if prev := resultOf(c.base, e.Name); prev != nil && prev.OverranAt != nil {
			continue
		}
		out = append(out, warning("ExerciseOverrun", "TrackProgress",
			fmt.Sprintf("exercise %s has taken %d minutes without passing, over %d× its estimate of %d minutes: the learner may be stuck (%d failed attempts, %d/%d points)",
				e.Name, minutesBetween(workStart(e), c.now), overrunFactor, e.EstimatedMinutes, e.FailedAttempts, e.Points, e.MaxPoints))...)
	}
	return out
}

// notifyCompleted: every exercise has now passed once.
func notifyCompleted(c change) []queuedEvent {
	if !becameTrue(c, rotationsv1.ConditionCompleted) {
		return nil
	}
	return normal("RotationCompleted", "TrackProgress",
		fmt.Sprintf("every exercise passed: score %d/%d", c.lr.Status.Score, c.lr.Status.MaxScore))
}

func resultOf(lr *rotationsv1.LearningRotation, name string) *rotationsv1.ExerciseResult {
	for i := range lr.Status.Exercises {
		if lr.Status.Exercises[i].Name == name {
			return &lr.Status.Exercises[i]
		}
	}
	return nil
}
