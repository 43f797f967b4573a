package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// These tests run the status table (status.go) and the transition events
// (notify.go) on plain objects: no apiserver, no reconciler.

var (
	statusStart    = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	statusDeadline = statusStart.Add(8 * time.Hour)
	statusNow      = statusStart.Add(time.Hour)
)

// scheduledRotation is a rotation as reconcileSchedule leaves it, with the
// given conditions from an earlier pass.
func scheduledRotation(conds ...metav1.Condition) *rotationsv1.LearningRotation {
	lr := &rotationsv1.LearningRotation{}
	lr.Name, lr.Generation = "box", 3
	start, deadline := metav1.NewTime(statusStart), metav1.NewTime(statusDeadline)
	lr.Status.StartedAt, lr.Status.Deadline = &start, &deadline
	lr.Status.Conditions = conds
	return lr
}

func cond(t string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(statusStart)}
}

// want is a condition's expected status and reason, and a part of its message.
type want struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

func TestStatusTable(t *testing.T) {
	provisioned := &labFinding{namespace: "lab-box", objects: 9}
	passed := metav1.NewTime(statusStart.Add(30 * time.Minute))
	tests := []struct {
		name  string
		prev  []metav1.Condition
		found findings
		stage stage
		err   error
		// status changes the rotation before the table runs, as steps would.
		status     func(*rotationsv1.LearningRotationStatus)
		conditions map[string]want // absent: not set; zero want: must be absent
		phase      rotationsv1.RotationPhase
		observed   bool
	}{{
		name:  "a new rotation, provisioned and graded",
		found: findings{timed: true, lab: provisioned, resume: &resumeFinding{never: true}, exercises: &selectionFinding{selected: 2}, help: true, progress: true, graded: observe(metav1.ConditionTrue, rotationsv1.ReasonGraded, "2 exercises graded")},
		status: func(st *rotationsv1.LearningRotationStatus) {
			st.Exercises = []rotationsv1.ExerciseResult{{Name: "a", FirstPassedAt: &passed}, {Name: "b"}}
		},
		conditions: map[string]want{
			rotationsv1.ConditionReady:             {metav1.ConditionTrue, rotationsv1.ReasonReady, "the lab is ready for the learner"},
			rotationsv1.ConditionExpired:           {metav1.ConditionFalse, rotationsv1.ReasonNotExpired, "the deadline is 2026-05-04T17:00:00Z"},
			rotationsv1.ConditionLabProvisioned:    {metav1.ConditionTrue, rotationsv1.ReasonProvisioned, "9 objects in place in namespace lab-box"},
			rotationsv1.ConditionSuspended:         {metav1.ConditionFalse, rotationsv1.ReasonNotSuspended, "the rotation is not suspended"},
			rotationsv1.ConditionExercisesResolved: {metav1.ConditionTrue, rotationsv1.ReasonResolved, "2 exercises selected"},
			rotationsv1.ConditionHelpRequested:     {metav1.ConditionFalse, rotationsv1.ReasonNoHelpRequested, "has not asked"},
			rotationsv1.ConditionGraded:            {metav1.ConditionTrue, rotationsv1.ReasonGraded, "2 exercises graded"},
			rotationsv1.ConditionCompleted:         {metav1.ConditionFalse, rotationsv1.ReasonInProgress, "1/2 exercises passed; to do: b"},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "exercises missing: Ready carries why, the lab stays active",
		found: findings{timed: true, lab: provisioned, exercises: &selectionFinding{missing: []string{"x", "y"}}},
		conditions: map[string]want{
			rotationsv1.ConditionExercisesResolved: {metav1.ConditionFalse, rotationsv1.ReasonExerciseNotFound, "exercises not found: x, y; create them"},
			rotationsv1.ConditionReady:             {metav1.ConditionFalse, rotationsv1.ReasonExerciseNotFound, "exercises not found: x, y"},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "exercises that do not compile",
		found: findings{timed: true, lab: provisioned, exercises: &selectionFinding{selected: 1, invalid: []string{"a (bad)", "b (worse)"}}},
		conditions: map[string]want{
			rotationsv1.ConditionExercisesResolved: {metav1.ConditionFalse, rotationsv1.ReasonExerciseInvalid, "do not compile: a (bad); b (worse)"},
			rotationsv1.ConditionReady:             {metav1.ConditionFalse, rotationsv1.ReasonExerciseInvalid, ""},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "invalid spec: terminal, Failed, observed",
		found: findings{spec: errors.New("spec.schedule.duration must be positive")},
		err:   reconcile.TerminalError(errors.New("spec.schedule.duration must be positive")),
		conditions: map[string]want{
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, rotationsv1.ReasonInvalidSpec, "must be positive"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonInvalidSpec, "must be positive"},
			rotationsv1.ConditionExpired:        {},
			rotationsv1.ConditionHelpRequested:  {},
		},
		phase: rotationsv1.PhaseFailed, observed: true,
	}, {
		name:  "namespace conflict is terminal too",
		found: findings{timed: true, lab: &labFinding{err: errors.New("namespace lab-box already exists"), reason: "NamespaceConflict"}},
		err:   reconcile.TerminalError(errors.New("namespace lab-box already exists")),
		conditions: map[string]want{
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, "NamespaceConflict", "already exists"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonInvalidSpec, "already exists"},
		},
		phase: rotationsv1.PhaseFailed, observed: true,
	}, {
		name:  "provisioning fails: retried, not observed",
		found: findings{timed: true, lab: &labFinding{err: errors.New("quota"), reason: rotationsv1.ReasonProvisioningFailed}},
		err:   errors.New("quota"),
		conditions: map[string]want{
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, rotationsv1.ReasonProvisioningFailed, "quota"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonNotReady, "quota"},
			rotationsv1.ConditionCompleted:      {},
		},
		phase: rotationsv1.PhaseProvisioning,
	}, {
		name:  "an error keeps the phase of an active rotation",
		prev:  []metav1.Condition{cond(rotationsv1.ConditionLabProvisioned, metav1.ConditionTrue, rotationsv1.ReasonProvisioned, "9 objects")},
		found: findings{timed: true, lab: provisioned, graded: observe(metav1.ConditionFalse, rotationsv1.ReasonGradingFailed, "collect: timeout")},
		err:   errors.New("collect: timeout"),
		status: func(st *rotationsv1.LearningRotationStatus) {
			st.Phase = rotationsv1.PhaseActive
		},
		conditions: map[string]want{
			rotationsv1.ConditionGraded: {metav1.ConditionFalse, rotationsv1.ReasonGradingFailed, "collect: timeout"},
			rotationsv1.ConditionReady:  {metav1.ConditionFalse, rotationsv1.ReasonNotReady, "collect: timeout"},
		},
		phase: rotationsv1.PhaseActive,
	}, {
		name:  "waiting for an old namespace to terminate (the pass halts)",
		found: findings{timed: true, lab: &labFinding{err: errors.New("waiting for namespace lab-box"), reason: ReasonNamespaceTerminating, stuck: true}},
		conditions: map[string]want{
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, ReasonNamespaceTerminating, "waiting for namespace"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonNotReady, "the lab is being provisioned"},
		},
		phase: rotationsv1.PhaseProvisioning, observed: true,
	}, {
		name:  "scheduled",
		found: findings{timed: true, help: true, progress: true},
		stage: stageScheduled,
		conditions: map[string]want{
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, rotationsv1.ReasonScheduled, "provisioned when the rotation starts, at 2026-05-04T09:00:00Z"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonScheduled, "the rotation starts at 2026-05-04T09:00:00Z"},
			rotationsv1.ConditionCompleted:      {metav1.ConditionFalse, rotationsv1.ReasonInProgress, "no exercises graded yet"},
			rotationsv1.ConditionSuspended:      {},
		},
		phase: rotationsv1.PhaseScheduled, observed: true,
	}, {
		name:  "suspended",
		found: findings{timed: true, lab: provisioned, suspend: &suspendFinding{workloads: 2, scaled: []string{"Deployment web (3)"}}},
		stage: stageSuspended,
		conditions: map[string]want{
			rotationsv1.ConditionSuspended: {metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec, "suspended by spec.suspend: 2 Deployments and StatefulSets at zero"},
			rotationsv1.ConditionReady:     {metav1.ConditionFalse, rotationsv1.ReasonSuspendedBySpec, "set spec.suspend=false to resume"},
		},
		phase: rotationsv1.PhaseSuspended, observed: true,
	}, {
		name:  "suspending fails",
		found: findings{timed: true, suspend: &suspendFinding{err: errors.New("suspending: could not scale to zero: Deployment web: forbidden")}},
		stage: stageSuspended,
		err:   errors.New("suspending: could not scale to zero: Deployment web: forbidden"),
		conditions: map[string]want{
			rotationsv1.ConditionSuspended: {metav1.ConditionFalse, rotationsv1.ReasonSuspendedBySpec, "could not scale to zero"},
			rotationsv1.ConditionReady:     {metav1.ConditionFalse, rotationsv1.ReasonNotReady, "could not scale to zero"},
		},
		phase: rotationsv1.PhaseProvisioning,
	}, {
		name:  "resumed",
		prev:  []metav1.Condition{cond(rotationsv1.ConditionSuspended, metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec, "")},
		found: findings{timed: true, lab: provisioned, resume: &resumeFinding{restored: []string{"Deployment web (3)"}}},
		conditions: map[string]want{
			rotationsv1.ConditionSuspended: {metav1.ConditionFalse, rotationsv1.ReasonNotSuspended, "rotation resumed: grading runs, learner access read-write; replicas restored: Deployment web (3)"},
			rotationsv1.ConditionReady:     {metav1.ConditionTrue, rotationsv1.ReasonReady, ""},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "expired",
		found: findings{timed: true, lab: provisioned},
		stage: stageExpired,
		conditions: map[string]want{
			rotationsv1.ConditionExpired: {metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed, "the rotation ended at 2026-05-04T17:00:00Z; grades are final"},
			rotationsv1.ConditionReady:   {metav1.ConditionFalse, rotationsv1.ReasonDeadlinePassed, "the lab is read-only and grades are final"},
		},
		phase: rotationsv1.PhaseExpired, observed: true,
	}, {
		name:  "lab deleted after retention",
		found: findings{timed: true},
		stage: stageLabDeleted,
		status: func(st *rotationsv1.LearningRotationStatus) {
			at := metav1.NewTime(statusDeadline.Add(168 * time.Hour))
			st.LabDeletedAt = &at
		},
		conditions: map[string]want{
			rotationsv1.ConditionExpired:        {metav1.ConditionTrue, rotationsv1.ReasonDeadlinePassed, ""},
			rotationsv1.ConditionLabProvisioned: {metav1.ConditionFalse, rotationsv1.ReasonLabDeleted, "retention ended at 2026-05-11T17:00:00Z: lab namespace lab-box deleted"},
			rotationsv1.ConditionReady:          {metav1.ConditionFalse, rotationsv1.ReasonLabDeleted, "its lab was deleted after retention"},
		},
		phase: rotationsv1.PhaseExpired, observed: true,
	}, {
		name:  "help asked, then all passed",
		found: findings{timed: true, lab: provisioned, help: true, progress: true},
		status: func(st *rotationsv1.LearningRotationStatus) {
			st.HelpRequest = &rotationsv1.HelpRequestStatus{Message: "stuck on ports", RequestedAt: metav1.NewTime(statusStart)}
			st.Exercises = []rotationsv1.ExerciseResult{{Name: "a", FirstPassedAt: &passed}}
			st.Score, st.MaxScore = 10, 10
		},
		conditions: map[string]want{
			rotationsv1.ConditionHelpRequested: {metav1.ConditionTrue, rotationsv1.ReasonHelpRequested, "the learner asked for help at 2026-05-04T09:00:00Z: stuck on ports"},
			rotationsv1.ConditionCompleted:     {metav1.ConditionTrue, rotationsv1.ReasonAllPassed, "all 1 exercises passed: score 10/10"},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "help acknowledged",
		found: findings{timed: true, lab: provisioned, help: true},
		status: func(st *rotationsv1.LearningRotationStatus) {
			ack := metav1.NewTime(statusNow)
			st.HelpRequest = &rotationsv1.HelpRequestStatus{RequestedAt: metav1.NewTime(statusStart), AcknowledgedAt: &ack}
		},
		conditions: map[string]want{
			rotationsv1.ConditionHelpRequested: {metav1.ConditionFalse, rotationsv1.ReasonHelpAcknowledged, "the help request of 2026-05-04T09:00:00Z was acknowledged at 2026-05-04T10:00:00Z"},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "an infrastructure problem: InfrastructureReady says it, Ready does not",
		found: findings{timed: true, lab: provisioned, infrastructure: &infrastructureFinding{problems: []InfrastructureProblem{{Reason: rotationsv1.ReasonRegistryUnavailable, Message: "no lab registry key"}, {Reason: rotationsv1.ReasonLearnerAPIUnreachable, Message: "https://k8s.example.com does not answer"}}}},
		conditions: map[string]want{
			rotationsv1.ConditionInfrastructureReady: {metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "no lab registry key; https://k8s.example.com does not answer"},
			rotationsv1.ConditionReady:               {metav1.ConditionTrue, rotationsv1.ReasonReady, ""},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "no infrastructure problem ever: no condition",
		found: findings{timed: true, lab: provisioned, infrastructure: &infrastructureFinding{}},
		conditions: map[string]want{
			rotationsv1.ConditionInfrastructureReady: {},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}, {
		name:  "the infrastructure problem is gone",
		prev:  []metav1.Condition{cond(rotationsv1.ConditionInfrastructureReady, metav1.ConditionFalse, rotationsv1.ReasonRegistryUnavailable, "no lab registry key")},
		found: findings{timed: true, lab: provisioned, infrastructure: &infrastructureFinding{}},
		conditions: map[string]want{
			rotationsv1.ConditionInfrastructureReady: {metav1.ConditionTrue, rotationsv1.ReasonInfrastructureReady, "gone"},
		},
		phase: rotationsv1.PhaseActive, observed: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := scheduledRotation(tt.prev...)
			base := lr.DeepCopy()
			if tt.status != nil {
				tt.status(&lr.Status)
			}
			decideStatus(passView{lr: lr, base: base, found: &tt.found, stage: tt.stage, err: tt.err}, statusNow)
			for typ, w := range tt.conditions {
				c := meta.FindStatusCondition(lr.Status.Conditions, typ)
				switch {
				case w == (want{}) && c != nil:
					t.Errorf("%s = %s/%s, want it unset", typ, c.Status, c.Reason)
				case w == (want{}):
				case c == nil:
					t.Errorf("%s unset, want %s/%s", typ, w.status, w.reason)
				case c.Status != w.status || c.Reason != w.reason || !strings.Contains(c.Message, w.message):
					t.Errorf("%s = %s/%s %q, want %s/%s containing %q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
				case c.ObservedGeneration != lr.Generation:
					t.Errorf("%s observedGeneration %d, want %d", typ, c.ObservedGeneration, lr.Generation)
				}
			}
			if lr.Status.Phase != tt.phase {
				t.Errorf("phase %s, want %s", lr.Status.Phase, tt.phase)
			}
			if observed := lr.Status.ObservedGeneration == lr.Generation; observed != tt.observed {
				t.Errorf("observedGeneration %d (generation %d), want observed=%t", lr.Status.ObservedGeneration, lr.Generation, tt.observed)
			}
		})
	}
}

// A condition keeps its transition time while its status holds, and a
// finding left nil leaves its condition alone.
func TestStatusTableKeepsWhatWasNotLookedAt(t *testing.T) {
	graded := cond(rotationsv1.ConditionGraded, metav1.ConditionTrue, rotationsv1.ReasonGraded, "3 exercises graded")
	expired := cond(rotationsv1.ConditionExpired, metav1.ConditionFalse, rotationsv1.ReasonNotExpired, "the deadline is then")
	lr := scheduledRotation(graded, expired)
	decideStatus(passView{lr: lr, base: lr.DeepCopy(), found: &findings{timed: true}}, statusNow)
	if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionGraded); c == nil || *c != graded {
		t.Errorf("Graded changed without a finding: %+v", c)
	}
	c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExpired)
	if c == nil || c.Message != "the deadline is 2026-05-04T17:00:00Z" || !c.LastTransitionTime.Time.Equal(statusStart) {
		t.Errorf("Expired = %+v, want a new message and the old transition time", c)
	}
	decideStatus(passView{lr: lr, base: lr.DeepCopy(), found: &findings{timed: true}, stage: stageExpired}, statusNow)
	if c := meta.FindStatusCondition(lr.Status.Conditions, rotationsv1.ConditionExpired); !c.LastTransitionTime.Time.Equal(statusNow) {
		t.Errorf("Expired turned True at %v, want the pass's clock %v", c.LastTransitionTime, statusNow)
	}
}

// The ready table ends with a rule that always applies, and every rule is
// reachable: no rule is hidden by the ones before it.
func TestReadyTableIsComplete(t *testing.T) {
	if !readyTable[len(readyTable)-1].when(passView{lr: scheduledRotation(), found: &findings{}}) {
		t.Fatal("the last rule must always apply")
	}
	lab := func(status metav1.ConditionStatus) metav1.Condition {
		return cond(rotationsv1.ConditionLabProvisioned, status, "r", "m")
	}
	unresolved := cond(rotationsv1.ConditionExercisesResolved, metav1.ConditionFalse, rotationsv1.ReasonExerciseNotFound, "m")
	views := map[string]passView{
		"scheduled":            {stage: stageScheduled},
		"suspended":            {stage: stageSuspended},
		"expired":              {stage: stageExpired},
		"lab deleted":          {stage: stageLabDeleted},
		"exercises unresolved": {lr: scheduledRotation(lab(metav1.ConditionTrue), unresolved)},
		"ready":                {lr: scheduledRotation(lab(metav1.ConditionTrue))},
		"terminal error":       {err: reconcile.TerminalError(errors.New("x"))},
		"error":                {err: errors.New("x")},
		"provisioning":         {lr: scheduledRotation(lab(metav1.ConditionFalse))},
	}
	for _, rule := range readyTable {
		v, ok := views[rule.name]
		if !ok {
			t.Errorf("rule %q has no case here", rule.name)
			continue
		}
		if v.lr == nil {
			v.lr = scheduledRotation()
		}
		v.found = &findings{timed: true}
		if got := readyRuleFor(v); got.name != rule.name {
			t.Errorf("a pass meant for %q got %q", rule.name, got.name)
		}
	}
}

func TestSummarizeScore(t *testing.T) {
	passed := metav1.NewTime(statusStart)
	tests := []struct {
		name                    string
		exercises               []rotationsv1.ExerciseResult
		score, max, done, total int32
		progress                string
	}{
		{"none", nil, 0, 0, 0, 0, "0/0"},
		{"not started", []rotationsv1.ExerciseResult{{MaxPoints: 10}}, 0, 10, 0, 1, "0/1"},
		{"best points count, not the points now", []rotationsv1.ExerciseResult{
			{Points: 2, BestPoints: 8, MaxPoints: 10},
			{Points: 15, BestPoints: 15, MaxPoints: 15, FirstPassedAt: &passed},
		}, 23, 25, 1, 2, "1/2"},
		{"passed once stays completed after a regression", []rotationsv1.ExerciseResult{
			{State: rotationsv1.ExerciseFailed, Points: 0, BestPoints: 10, MaxPoints: 10, FirstPassedAt: &passed},
		}, 10, 10, 1, 1, "1/1"},
	}
	for _, tt := range tests {
		st := rotationsv1.LearningRotationStatus{Exercises: tt.exercises, Score: 99, Completed: 99}
		summarizeScore(&st)
		got := fmt.Sprint(st.Score, st.MaxScore, st.Completed, st.Total, st.Progress)
		if want := fmt.Sprint(tt.score, tt.max, tt.done, tt.total, tt.progress); got != want {
			t.Errorf("%s: score max completed total progress = %s, want %s", tt.name, got, want)
		}
	}
}
