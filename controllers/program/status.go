package program

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// This file decides the program's conditions, Ready, phase and next round
// once per pass from what the steps found, as controllers/status.go does
// for a rotation. A rule returning nil leaves its condition as it was.

// Condition reasons of a program.
const (
	ReasonValid             = "Valid"
	ReasonInvalidCron       = "InvalidCron"
	ReasonNeverFires        = "NeverFires"
	ReasonInvalidSchedule   = "InvalidSchedule"
	ReasonRoundsAhead       = "RoundsAhead"
	ReasonAllRoundsStarted  = "AllRoundsStarted"
	ReasonSinkInvalid       = "NotificationSinkInvalid"
	ReasonRunning           = "Running"
	ReasonReconcileError    = "ReconcileError"
	ConditionNotificationOK = "NotificationSinkReady"
)

// view is what the status is decided from.
type view struct {
	p     *rotationsv1.RotationProgram
	found *findings
	err   error
	now   time.Time
}

type conditionRule struct {
	condition string
	derive    func(v view) *observation
}

// conditionTable lists every condition of a program; Ready comes after,
// from readyTable.
var conditionTable = []conditionRule{
	{rotationsv1.ConditionScheduleValid, scheduleCondition},
	{rotationsv1.ConditionSuspended, suspendedCondition},
	{rotationsv1.ConditionFinished, finishedCondition},
	{ConditionNotificationOK, sinkCondition},
}

// readyRule: when applies, Ready is ready(v) and the phase is phase.
type readyRule struct {
	when  func(v view) bool
	ready func(v view) *observation
	phase rotationsv1.ProgramPhase
}

// readyTable: the first rule that applies wins.
var readyTable = []readyRule{
	{func(v view) bool { return v.found.cadenceErr != nil }, func(v view) *observation {
		return observe(metav1.ConditionFalse, scheduleReason(v.found.cadenceErr), v.found.cadenceErr.Error()+"; no round starts until spec.cadence is fixed")
	}, rotationsv1.ProgramFailed},
	{func(v view) bool { return v.err != nil }, func(v view) *observation {
		return observe(metav1.ConditionFalse, ReasonReconcileError, v.err.Error())
	}, ""},
	{func(v view) bool { return v.found.sinkErr != nil }, func(v view) *observation {
		return observe(metav1.ConditionFalse, ReasonSinkInvalid, "notifications cannot be sent: "+v.found.sinkErr.Error())
	}, ""},
	{func(v view) bool { return finished(v) }, func(v view) *observation {
		return observe(metav1.ConditionTrue, ReasonAllRoundsStarted, fmt.Sprintf("every round started (%d)", v.p.Status.Round))
	}, rotationsv1.ProgramFinished},
	{func(v view) bool { return v.p.Spec.Suspend }, func(view) *observation {
		return observe(metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec, "suspended: no round starts; set spec.suspend=false to resume")
	}, rotationsv1.ProgramSuspended},
	{func(v view) bool { return v.p.Status.Round == 0 }, func(v view) *observation {
		return observe(metav1.ConditionTrue, rotationsv1.ReasonScheduled, "the first round starts at "+nextRound(v))
	}, rotationsv1.ProgramScheduled},
	{func(view) bool { return true }, func(v view) *observation {
		return observe(metav1.ConditionTrue, ReasonRunning, fmt.Sprintf("round %d running; next round at %s", v.p.Status.Round, nextRound(v)))
	}, rotationsv1.ProgramRunning},
}

// decideStatus sets the conditions, Ready, phase, next round and
// observedGeneration at the end of a pass.
func decideStatus(v view) {
	st := &v.p.Status
	if c := v.found.cadence; c != nil && v.found.cohort {
		st.NextRoundAt = nil
		if !finished(v) {
			if n := c.next(lastScheduled(st), v.now); !n.IsZero() {
				st.NextRoundAt = &metav1.Time{Time: n}
			}
		}
	}
	if v.p.Spec.Notification == nil {
		meta.RemoveStatusCondition(&st.Conditions, ConditionNotificationOK)
	}
	for _, rule := range conditionTable {
		if o := rule.derive(v); o != nil {
			setCondition(v.p, rule.condition, o, v.now)
		}
	}
	for _, rule := range readyTable {
		if rule.when(v) {
			setCondition(v.p, rotationsv1.ConditionReady, rule.ready(v), v.now)
			if rule.phase != "" {
				st.Phase = rule.phase
			}
			break
		}
	}
	if st.Phase == "" {
		st.Phase = rotationsv1.ProgramScheduled
	}
	if v.err == nil {
		st.ObservedGeneration = v.p.Generation
	}
}

func setCondition(p *rotationsv1.RotationProgram, condition string, o *observation, now time.Time) {
	meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{
		Type: condition, Status: o.status, Reason: o.reason, Message: o.message,
		ObservedGeneration: p.Generation, LastTransitionTime: metav1.NewTime(now),
	})
}

func lastScheduled(st *rotationsv1.RotationProgramStatus) time.Time {
	if n := len(st.Rounds); n > 0 {
		return st.Rounds[n-1].ScheduledAt.Time
	}
	return time.Time{}
}

// finished: the cadence allows no further round.
func finished(v view) bool {
	c := v.found.cadence
	return c != nil && c.finished(v.p.Status.Round, lastScheduled(&v.p.Status))
}

func nextRound(v view) string {
	if n := v.p.Status.NextRoundAt; n != nil {
		return stamp(n.Time)
	}
	return "(none)"
}

func scheduleReason(err error) string {
	switch {
	case errors.Is(err, errNeverFires):
		return ReasonNeverFires
	case strings.Contains(err.Error(), "cadence.cron"):
		return ReasonInvalidCron
	}
	return ReasonInvalidSchedule
}

func scheduleCondition(v view) *observation {
	f := v.found
	switch {
	case f.cadenceErr != nil:
		return observe(metav1.ConditionFalse, scheduleReason(f.cadenceErr), f.cadenceErr.Error())
	case f.cadence == nil:
		return nil
	}
	c := v.p.Spec.Cadence
	how := "every " + c.Interval.Duration.String()
	if c.Cron != "" {
		how = "on cron " + c.Cron + " (UTC)"
	}
	return observe(metav1.ConditionTrue, ReasonValid, fmt.Sprintf("rounds %s, the first at %s", how, stamp(f.cadence.first)))
}

func suspendedCondition(v view) *observation {
	if v.p.Spec.Suspend {
		return observe(metav1.ConditionTrue, rotationsv1.ReasonSuspendedBySpec,
			"no round starts while suspended; round times passing meanwhile are skipped, and the next round starts on resume")
	}
	return observe(metav1.ConditionFalse, rotationsv1.ReasonNotSuspended, "the program is not suspended")
}

func finishedCondition(v view) *observation {
	switch {
	case v.found.cadence == nil || !v.found.cohort:
		return nil
	case finished(v):
		return observe(metav1.ConditionTrue, ReasonAllRoundsStarted, fmt.Sprintf("the last round, %d, has started", v.p.Status.Round))
	}
	return observe(metav1.ConditionFalse, ReasonRoundsAhead, fmt.Sprintf("%d rounds started; the next at %s", v.p.Status.Round, nextRound(v)))
}

func sinkCondition(v view) *observation {
	switch f := v.found; {
	case v.p.Spec.Notification == nil:
		return nil
	case f.sinkErr != nil:
		return observe(metav1.ConditionFalse, ReasonSinkInvalid, f.sinkErr.Error())
	case f.sink != nil:
		return observe(metav1.ConditionTrue, ReasonValid, fmt.Sprintf("notifications are posted as %s", f.sink.Format))
	}
	return nil
}
