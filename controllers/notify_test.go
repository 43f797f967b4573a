package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
	"github.com/handson-dev/rotation-operator/internal/grading"
)

// TestTransitionEvents runs notify.go on pairs of statuses: the status a
// pass read, and the one it writes after status.go decided.
func TestTransitionEvents(t *testing.T) {
	at := func(d time.Duration) *metav1.Time { v := metav1.NewTime(statusStart.Add(d)); return &v }
	provisioned := cond(rotationsv1.ConditionLabProvisioned, metav1.ConditionTrue, rotationsv1.ReasonProvisioned, "9 objects")
	suspended := cond(rotationsv1.ConditionSuspended, metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec, "suspended")
	lab := &labFinding{namespace: "lab-box", objects: 9}
	tests := []struct {
		name  string
		prev  func(*rotationsv1.LearningRotation)
		found findings
		stage stage
		err   error
		next  func(*rotationsv1.LearningRotation) // the steps' own status changes
		want  []string                            // "Type Reason: note part"
	}{{
		name: "nothing changed, nothing said",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: lab},
	}, {
		name:  "first provisioning",
		found: findings{timed: true, lab: lab},
		want:  []string{"Normal Provisioned: lab namespace lab-box provisioned with 9 objects"},
	}, {
		name: "repaired",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: &labFinding{namespace: "lab-box", objects: 9, repaired: []string{"Role learner", "NetworkPolicy deny"}}},
		want:  []string{"Normal Repaired: restored lab objects that were changed or deleted: Role learner, NetworkPolicy deny"},
	}, {
		name: "provisioning fails once, then keeps failing quietly",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: &labFinding{err: errors.New("quota exceeded"), reason: rotationsv1.ReasonProvisioningFailed}},
		err:   errors.New("quota exceeded"),
		want:  []string{"Warning ProvisioningFailed: quota exceeded"},
	}, {
		name: "provisioning still failing",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, cond(rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, rotationsv1.ReasonProvisioningFailed, "quota exceeded"))
		},
		found: findings{timed: true, lab: &labFinding{err: errors.New("quota exceeded again"), reason: rotationsv1.ReasonProvisioningFailed}},
		err:   errors.New("quota exceeded again"),
	}, {
		name:  "a stuck namespace is reported",
		found: findings{timed: true, lab: &labFinding{err: errors.New("waiting: finalizers example.com/x"), reason: ReasonNamespaceTerminating, stuck: true}},
		want:  []string{"Warning NamespaceTerminating: finalizers example.com/x"},
	}, {
		name: "a stuck namespace is reported once per change",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, cond(rotationsv1.ConditionLabProvisioned, metav1.ConditionFalse, ReasonNamespaceTerminating, "waiting: finalizers example.com/x"))
		},
		found: findings{timed: true, lab: &labFinding{err: errors.New("waiting: finalizers example.com/x"), reason: ReasonNamespaceTerminating, stuck: true}},
	}, {
		name:  "a namespace still deleting its content is not",
		found: findings{timed: true, lab: &labFinding{err: errors.New("waiting: content remaining"), reason: ReasonNamespaceTerminating}},
	}, {
		name: "suspended",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: lab, suspend: &suspendFinding{workloads: 1, scaled: []string{"Deployment web (2)"}}},
		stage: stageSuspended,
		want:  []string{"Normal Suspended: rotation suspended: grading paused, learner access read-only; scaled to zero: Deployment web (2)"},
	}, {
		name: "still suspended, nothing scaled",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned, suspended)
		},
		found: findings{timed: true, lab: lab, suspend: &suspendFinding{workloads: 1}},
		stage: stageSuspended,
	}, {
		name: "still suspended, the learner scaled up before read-only took",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned, suspended)
		},
		found: findings{timed: true, lab: lab, suspend: &suspendFinding{workloads: 1, scaled: []string{"Deployment web (1)"}}},
		stage: stageSuspended,
		want:  []string{"Normal Suspended: scaled to zero: Deployment web (1)"},
	}, {
		name: "resumed",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned, suspended)
		},
		found: findings{timed: true, lab: lab, resume: &resumeFinding{restored: []string{"Deployment web (2)"}}},
		want:  []string{"Normal Resumed: rotation resumed: grading runs, learner access read-write; replicas restored: Deployment web (2)"},
	}, {
		name: "a new rotation is not resumed",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: lab, resume: &resumeFinding{never: true}},
	}, {
		name: "expired, with the score as it stood",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Score, lr.Status.MaxScore, lr.Status.Completed, lr.Status.Total = 7, 20, 1, 2
		},
		found: findings{timed: true},
		stage: stageExpired,
		want:  []string{"Normal DeadlinePassed: the rotation ended at 2026-05-04T17:00:00Z: the learner's access is read-only and grades are final (score 7/20, 1/2 exercises passed); the lab is deleted at 2026-05-11T17:00:00Z"},
	}, {
		name:  "expired and deleted in one pass",
		found: findings{timed: true},
		stage: stageLabDeleted,
		next:  func(lr *rotationsv1.LearningRotation) { lr.Status.LabDeletedAt = at(200 * time.Hour) },
		want: []string{"Normal DeadlinePassed: the rotation ended",
			"Normal LabDeleted: retention ended at 2026-05-11T17:00:00Z: lab namespace lab-box deleted; the rotation and its grades are kept"},
	}, {
		name:  "an exercise goes missing, once per change",
		found: findings{timed: true, exercises: &selectionFinding{missing: []string{"x"}}},
		want:  []string{"Warning ExerciseNotFound: exercises not found: x; create them or fix spec.exercises.names"},
	}, {
		name: "the same exercise still missing",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, cond(rotationsv1.ConditionExercisesResolved, metav1.ConditionFalse, rotationsv1.ReasonExerciseNotFound,
				"exercises not found: x; create them or fix spec.exercises.names"))
		},
		found: findings{timed: true, exercises: &selectionFinding{missing: []string{"x"}}},
	}, {
		name:  "an exercise stops compiling",
		found: findings{timed: true, exercises: &selectionFinding{selected: 1, invalid: []string{"a (syntax error)"}}},
		want:  []string{"Warning ExerciseInvalid: exercises whose checks do not compile: a (syntax error)"},
	}, {
		name: "passed and regressed, as grading.Advance judged",
		found: findings{timed: true, gradeTransitions: map[string]grading.Transition{
			"a": grading.TransitionPassed, "b": grading.TransitionRegressed,
		}},
		next: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises = []rotationsv1.ExerciseResult{
				{Name: "a", Points: 10, MaxPoints: 10},
				{Name: "b", Points: 5, MaxPoints: 10, Checks: []rotationsv1.CheckResult{{Name: "replicas", Passed: true}, {Name: "port", Message: "want 8080"}}},
			}
		},
		want: []string{"Normal ExercisePassed: exercise a passed: 10/10 points", "Warning ExerciseRegressed: exercise b passed before and now fails: port: want 8080"},
	}, {
		name: "a submission arrives, then another that cannot be graded",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises = []rotationsv1.ExerciseResult{{Name: "a", Submission: &rotationsv1.SubmissionStatus{Digest: "sha256:0123456789abcdef", Files: 1}}, {Name: "b"}}
		},
		found: findings{timed: true},
		next: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises[0].Submission = &rotationsv1.SubmissionStatus{Digest: "sha256:fedcba9876543210fedc", Files: 2}
			lr.Status.Exercises[1].Submission = &rotationsv1.SubmissionStatus{Digest: "sha256:1", Error: "main.tf: not UTF-8"}
		},
		want: []string{"Normal SubmissionReceived: exercise a: 2 files handed in (fedcba987654)",
			"Warning InvalidSubmission: submission for exercise b cannot be graded: main.tf: not UTF-8"},
	}, {
		name: "the same submission is not news",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises = []rotationsv1.ExerciseResult{{Name: "a", Submission: &rotationsv1.SubmissionStatus{Digest: "sha256:1", Files: 1}}}
		},
		found: findings{timed: true},
	}, {
		name: "an exercise overruns, once",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises = []rotationsv1.ExerciseResult{
				{Name: "a", StartedAt: at(0), PausedSeconds: 600, EstimatedMinutes: 20, FailedAttempts: 3, Points: 4, MaxPoints: 10},
				{Name: "b", StartedAt: at(0), EstimatedMinutes: 10, OverranAt: at(20 * time.Minute)},
			}
		},
		found: findings{timed: true, progress: true},
		next:  func(lr *rotationsv1.LearningRotation) { lr.Status.Exercises[0].OverranAt = at(time.Hour) },
		want:  []string{"Warning ExerciseOverrun: exercise a has taken 50 minutes without passing, over 2× its estimate of 20 minutes: the learner may be stuck (3 failed attempts, 4/10 points)"},
	}, {
		name: "a mentor acknowledges help",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.HelpRequest = &rotationsv1.HelpRequestStatus{RequestedAt: metav1.NewTime(statusStart)}
		},
		found: findings{timed: true, help: true},
		next:  func(lr *rotationsv1.LearningRotation) { lr.Status.HelpRequest.AcknowledgedAt = at(time.Hour) },
		want:  []string{"Normal HelpAcknowledged: a mentor acknowledged the help request of 2026-05-04T09:00:00Z"},
	}, {
		name: "an acknowledged request stays acknowledged quietly",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.HelpRequest = &rotationsv1.HelpRequestStatus{RequestedAt: metav1.NewTime(statusStart), AcknowledgedAt: at(time.Hour)}
		},
		found: findings{timed: true, help: true},
	}, {
		name:  "every exercise passed",
		found: findings{timed: true, progress: true},
		next: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Exercises = []rotationsv1.ExerciseResult{{Name: "a", FirstPassedAt: at(time.Minute)}}
			lr.Status.Score, lr.Status.MaxScore = 10, 10
		},
		want: []string{"Normal RotationCompleted: every exercise passed: score 10/10"},
	}, {
		name: "an infrastructure problem is announced",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned)
		},
		found: findings{timed: true, lab: lab, infrastructure: &infrastructureFinding{problems: []InfrastructureProblem{{Reason: rotationsv1.ReasonRegistryUnavailable, Message: "no lab registry key"}}}},
		want:  []string{"Warning RegistryUnavailable: no lab registry key"},
	}, {
		name: "the same infrastructure problem is not announced again",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned,
				cond(rotationsv1.ConditionInfrastructureReady, metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "no lab registry key"))
		},
		found: findings{timed: true, lab: lab, infrastructure: &infrastructureFinding{problems: []InfrastructureProblem{{Reason: rotationsv1.ReasonRegistryUnavailable, Message: "no lab registry key"}}}},
	}, {
		name: "the infrastructure problem is gone",
		prev: func(lr *rotationsv1.LearningRotation) {
			lr.Status.Conditions = append(lr.Status.Conditions, provisioned,
				cond(rotationsv1.ConditionInfrastructureReady, metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "no lab registry key"))
		},
		found: findings{timed: true, lab: lab, infrastructure: &infrastructureFinding{}},
		want:  []string{"Normal InfrastructureReady: gone"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := scheduledRotation()
			if tt.prev != nil {
				tt.prev(lr)
			}
			base := lr.DeepCopy()
			if tt.next != nil {
				tt.next(lr)
			}
			decideStatus(passView{lr: lr, base: base, found: &tt.found, stage: tt.stage, err: tt.err}, statusNow)
			got := transitionEvents(change{base: base, lr: lr, found: &tt.found, now: statusNow})
			if len(got) != len(tt.want) {
				t.Fatalf("events:\n%s\nwant:\n%s", describeEvents(got), strings.Join(tt.want, "\n"))
			}
			for i, w := range tt.want {
				head, note, _ := strings.Cut(w, ": ")
				e := got[i]
				if e.eventType+" "+e.reason != head || !strings.Contains(e.note, note) {
					t.Errorf("event %d: %s %s: %s\nwant %s", i, e.eventType, e.reason, e.note, w)
				}
			}
		})
	}
}

func describeEvents(evs []queuedEvent) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s (%s): %s\n", e.eventType, e.reason, e.action, e.note)
	}
	return b.String()
}

// Every event notify.go sends is either Normal or Warning, with an action.
func TestTransitionEventsAreWellFormed(t *testing.T) {
	base := scheduledRotation()
	lr := base.DeepCopy()
	found := &findings{timed: true, lab: &labFinding{namespace: "lab-box", objects: 1}, progress: true}
	decideStatus(passView{lr: lr, base: base, found: found}, statusNow)
	for _, e := range transitionEvents(change{base: base, lr: lr, found: found, now: statusNow}) {
		if (e.eventType != corev1.EventTypeNormal && e.eventType != corev1.EventTypeWarning) || e.action == "" || e.reason == "" {
			t.Errorf("malformed event %+v", e)
		}
	}
}
